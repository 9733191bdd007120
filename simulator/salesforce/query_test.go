package salesforce

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func (b *testBundle) query(soql string, header ...string) answer {
	b.t.Helper()
	return b.do(http.MethodGet, "query?q="+url.QueryEscape(soql), nil, header...)
}

// names lists a field of a query page's records.
func names(t *testing.T, page map[string]any, field string) []any {
	t.Helper()
	var out []any
	for _, r := range page["records"].([]any) {
		out = append(out, r.(map[string]any)[field])
	}
	return out
}

func TestQuery(t *testing.T) {
	t.Parallel()
	b := setup(t, extOptions)
	ids := b.create(
		rec("Account", "Name", "O'Brien Ltd", "District_Id__c", "D-1", "NumberOfEmployees", 5),
		rec("Account", "Name", "Beta", "District_Id__c", "D-2", "NumberOfEmployees", 50),
		rec("Account", "Name", "Gamma", "NumberOfEmployees", 500),
	)

	a := b.query("SELECT Id, District_Id__c FROM Account WHERE District_Id__c IN ('d-1','D-2','D-9')")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.JSONEq(t, fmt.Sprintf(`{"totalSize":2,"done":true,"records":[
		{"attributes":{"type":"Account","url":"/services/data/v62.0/sobjects/Account/%s"},"Id":"%s","District_Id__c":"D-1"},
		{"attributes":{"type":"Account","url":"/services/data/v62.0/sobjects/Account/%s"},"Id":"%s","District_Id__c":"D-2"}]}`,
		ids[0], ids[0], ids[1], ids[1]), string(a.raw))
	require.Contains(t, string(a.raw), `"Id":"`+ids[0]+`","District_Id__c"`, "fields in the order selected")

	tests := []struct {
		soql string
		want []any
	}{
		{`SELECT Name FROM Account WHERE Name = 'o\'brien ltd'`, []any{"O'Brien Ltd"}},
		{"select name from account where numberofemployees >= 50 order by name desc", []any{"Gamma", "Beta"}},
		{"SELECT Name FROM Account WHERE NumberOfEmployees < 50 OR Name = 'Gamma'", []any{"O'Brien Ltd", "Gamma"}},
		{"SELECT Name FROM Account WHERE District_Id__c != null AND NumberOfEmployees > 10", []any{"Beta"}},
		{"SELECT Name FROM Account WHERE District_Id__c = null", []any{"Gamma"}},
		{"SELECT Name FROM Account WHERE District_Id__c NOT IN ('D-1')", []any{"Beta", "Gamma"}},
		{"SELECT Name FROM Account WHERE Id = '" + ids[1][:15] + "'", []any{"Beta"}},
		{"SELECT Name FROM Account ORDER BY NumberOfEmployees DESC LIMIT 2", []any{"Gamma", "Beta"}},
		{"SELECT Name FROM Account WHERE CreatedDate >= 2026-03-10T00:00:00Z LIMIT 1", []any{"O'Brien Ltd"}},
	}
	for _, tt := range tests {
		a := b.query(tt.soql)
		require.Equal(t, http.StatusOK, a.status, "%s: %s", tt.soql, a.raw)
		require.Equal(t, tt.want, names(t, a.obj(t), "Name"), tt.soql)
	}

	sys := b.query("SELECT Id, IsDeleted, CreatedDate, OwnerId, Website FROM Account LIMIT 1").obj(t)["records"].([]any)[0].(map[string]any)
	require.Equal(t, false, sys["IsDeleted"])
	require.Equal(t, "2026-03-10T15:00:00.000+0000", sys["CreatedDate"])
	require.Equal(t, b.sim.userID, sys["OwnerId"])
	require.Contains(t, sys, "Website")
	require.Nil(t, sys["Website"])

	b.do(http.MethodDelete, "composite/sobjects?ids="+ids[0], nil).results(t)
	require.Equal(t, []any{"Beta", "Gamma"}, names(t, b.query("SELECT Name FROM Account").obj(t), "Name"))
	all := b.do(http.MethodGet, "queryAll?q="+url.QueryEscape("SELECT Name, IsDeleted FROM Account WHERE IsDeleted = true"), nil).obj(t)
	require.Equal(t, []any{"O'Brien Ltd"}, names(t, all, "Name"))
}

func TestQueryPages(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	for range 3 {
		var recs []map[string]any
		for i := range 150 {
			recs = append(recs, rec("Account", "Name", fmt.Sprint("A", i)))
		}
		b.create(recs...)
	}
	page := b.query("SELECT Id FROM Account", "Sforce-Query-Options", "batchSize=200").obj(t)
	var got int
	for pages := 1; ; pages++ {
		require.Equal(t, 450.0, page["totalSize"])
		got += len(page["records"].([]any))
		if page["done"] == true {
			require.NotContains(t, page, "nextRecordsUrl")
			require.Equal(t, 3, pages)
			break
		}
		next := page["nextRecordsUrl"].(string)
		require.Regexp(t, `^/services/data/v62.0/query/01g5g[0-9A-Za-z]{13}-\d+$`, next)
		page = b.get(next).obj(t)
	}
	require.Equal(t, 450, got)
	require.Len(t, b.query("SELECT Id FROM Account").obj(t)["records"], 450, "2,000 a page by default")

	a := b.get("query/01g5g000015ftgGAAQ-200")
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Equal(t, "INVALID_QUERY_LOCATOR", a.errs(t)[0]["errorCode"])
}

func TestQueryErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	tests := []struct {
		soql string
		code string
	}{
		{"SELECT Colour__c FROM Account", "INVALID_FIELD"},
		{"SELECT Id FROM Account WHERE Colour__c = 'red'", "INVALID_FIELD"},
		{"SELECT Id FROM Widget__c", "INVALID_TYPE"},
		{"SELEC Id FROM Account", "MALFORMED_QUERY"},
		{"SELECT Id Account", "MALFORMED_QUERY"},
		{"SELECT Id FROM Account WHERE Name LIKE 'A%'", "MALFORMED_QUERY"},
		{"SELECT Id FROM Account WHERE Name IN ('a'", "MALFORMED_QUERY"},
		{"SELECT Id FROM Account WHERE Name = 'open", "MALFORMED_QUERY"},
		{"SELECT Account.Name FROM Contact", "MALFORMED_QUERY"},
		{"SELECT Id FROM Account LIMIT x", "MALFORMED_QUERY"},
		{"SELECT Id FROM Account extra", "MALFORMED_QUERY"},
	}
	for _, tt := range tests {
		a := b.query(tt.soql)
		require.Equal(t, http.StatusBadRequest, a.status, tt.soql)
		require.Equal(t, tt.code, a.errs(t)[0]["errorCode"], "%s: %s", tt.soql, a.raw)
	}
}

// FuzzSOQL checks that any query is answered or refused with an error body,
// never a panic.
func FuzzSOQL(f *testing.F) {
	for _, seed := range []string{"SELECT Id, Name FROM Account WHERE Name IN ('a','b') ORDER BY Name DESC LIMIT 3",
		`SELECT Id FROM Account WHERE Name = 'o\'b' OR NumberOfEmployees >= 5 AND Id != null`, "SELECT", "'", "SELECT Id FROM Account WHERE Name NOT IN ("} {
		f.Add(seed)
	}
	s := New(Options{})
	f.Fuzz(func(t *testing.T, soql string) {
		q, err := s.parseSOQL(soql)
		if err != nil {
			if err.ErrorCode == "" || err.Message == "" {
				t.Fatalf("%q: an empty error", soql)
			}
			return
		}
		s.run(q, true)
	})
}
