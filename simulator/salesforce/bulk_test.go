package salesforce

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var insertContacts = map[string]any{"object": "Contact", "operation": "insert", "contentType": "CSV", "lineEnding": "LF"}

func TestBulkLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	a := b.do(http.MethodPost, "jobs/ingest", insertContacts)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	job := a.obj(t)
	id := job["id"].(string)
	require.Regexp(t, `^7505g0`, id)
	require.Equal(t, map[string]any{"id": id, "operation": "insert", "object": "Contact", "createdById": b.sim.userID,
		"createdDate": "2026-03-10T15:00:00.000+0000", "systemModstamp": "2026-03-10T15:00:00.000+0000", "state": "Open",
		"concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": 62.0, "jobType": "V2Ingest",
		"contentUrl": "services/data/v62.0/jobs/ingest/" + id + "/batches", "lineEnding": "LF", "columnDelimiter": "COMMA"}, job)
	require.Contains(t, string(a.raw), `"apiVersion":62.0`)

	data := "FirstName,LastName,Email,Description,Birthdate\n" +
		"Ada,Lovelace,ada@example.com,\"Analyst, \"\"first\"\" programmer\nof the engine\",1815-12-10\n" +
		"Bob,,bob@example.com,#N/A,\n" +
		"\"Cara\",Cruz,not-an-email,,\n" +
		"Dan,Dorn,,#N/A,tomorrow\n"
	a = b.do(http.MethodPut, "jobs/ingest/"+id+"/batches", data)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.raw)
	require.Empty(t, a.raw)
	require.Equal(t, StateOpen, b.jobState(id)["state"])
	require.Equal(t, 0.0, b.jobState(id)["numberRecordsProcessed"])

	a = b.do(http.MethodPatch, "jobs/ingest/"+id, map[string]any{"state": "UploadComplete"})
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, StateUploadComplete, a.obj(t)["state"])
	// 4 records at 5,000 a second take 0.8 ms.
	info := b.jobState(id)
	require.Equal(t, StateInProgress, info["state"])
	require.Equal(t, 0.0, info["numberRecordsProcessed"])
	require.Empty(t, b.sim.Records("Contact"))

	b.clock.Advance(time.Millisecond)
	info = b.jobState(id)
	require.Equal(t, StateJobComplete, info["state"])
	require.Equal(t, 4.0, info["numberRecordsProcessed"])
	require.Equal(t, 3.0, info["numberRecordsFailed"])
	require.Equal(t, 0.0, info["retries"])
	require.NotContains(t, info, "errorMessage")

	contacts := b.sim.Records("Contact")
	require.Len(t, contacts, 1)
	require.Equal(t, "Analyst, \"first\" programmer\nof the engine", contacts[0].Fields["Description"])
	require.Equal(t, t0.Add(800*time.Microsecond), contacts[0].Created, "a record is written when its batch finishes")

	ok := b.get("jobs/ingest/" + id + "/successfulResults")
	require.Equal(t, "text/csv", ok.header.Get("Content-Type"))
	require.Equal(t, `"sf__Id","sf__Created",FirstName,LastName,Email,Description,Birthdate`, strings.SplitN(string(ok.raw), "\n", 2)[0])
	require.Equal(t, [][]string{
		{"sf__Id", "sf__Created", "FirstName", "LastName", "Email", "Description", "Birthdate"},
		{contacts[0].ID, "true", "Ada", "Lovelace", "ada@example.com", "Analyst, \"first\" programmer\nof the engine", "1815-12-10"},
	}, csvRows(t, ok.raw))

	failed := csvRows(t, b.get("jobs/ingest/"+id+"/failedResults").raw)
	require.Equal(t, []string{"sf__Id", "sf__Error", "FirstName", "LastName", "Email", "Description", "Birthdate"}, failed[0])
	slices.SortFunc(failed[1:], func(x, y []string) int { return strings.Compare(x[2], y[2]) })
	require.Equal(t, [][]string{
		{"", "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --", "Bob", "", "bob@example.com", "#N/A", ""},
		{"", "INVALID_EMAIL_ADDRESS:Email: invalid email address: not-an-email:Email --", "Cara", "Cruz", "not-an-email", "", ""},
		{"", "INVALID_TYPE_ON_FIELD_IN_RECORD:Birthdate: value not of required type: tomorrow:Birthdate --", "Dan", "Dorn", "", "#N/A", "tomorrow"},
	}, failed[1:])
	require.Equal(t, "FirstName,LastName,Email,Description,Birthdate\n", string(b.get("jobs/ingest/"+id+"/unprocessedrecords").raw))

	got, found := b.sim.Job(id)
	require.True(t, found)
	require.Equal(t, JobInfo{ID: id, Object: "Contact", Operation: "insert", State: StateJobComplete, ColumnDelimiter: "COMMA",
		LineEnding: "LF", APIVersion: "62.0", Uploads: 0, RecordsProcessed: 4, RecordsFailed: 3,
		Created: t0, Modified: t0.Add(800 * time.Microsecond)}, got)
}

// Processing runs at BulkRecordsPerSecond, a batch of BulkBatchSize at a time,
// one job after another in the order they were closed.
func TestBulkRate(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{BulkStartDelay: time.Second})
	accounts := func(prefix string, n int) string {
		var sb strings.Builder
		sb.WriteString("Name\n")
		for i := range n {
			fmt.Fprintf(&sb, "%s%d\n", prefix, i)
		}
		return sb.String()
	}
	spec := map[string]any{"object": "Account", "operation": "insert"}
	first := b.runJob(spec, accounts("A", 25_000))
	second := b.runJob(spec, accounts("B", 5_000))

	steps := []struct {
		at                time.Duration
		first, second     string
		processedFirst    float64
		processedSecond   float64
		accountsAfterStep int
	}{
		{0, StateUploadComplete, StateUploadComplete, 0, 0, 0},
		{999 * time.Millisecond, StateUploadComplete, StateUploadComplete, 0, 0, 0},
		{time.Second, StateInProgress, StateUploadComplete, 0, 0, 0},
		{2999 * time.Millisecond, StateInProgress, StateUploadComplete, 0, 0, 0},
		{3 * time.Second, StateInProgress, StateUploadComplete, 10_000, 0, 10_000},
		{5 * time.Second, StateInProgress, StateUploadComplete, 20_000, 0, 20_000},
		{6 * time.Second, StateJobComplete, StateInProgress, 25_000, 0, 25_000},
		{7 * time.Second, StateJobComplete, StateJobComplete, 25_000, 5_000, 30_000},
	}
	var at time.Duration
	for _, st := range steps {
		b.clock.Advance(st.at - at)
		at = st.at
		f, s := b.jobState(first), b.jobState(second)
		require.Equal(t, st.first, f["state"], "first job at %s", at)
		require.Equal(t, st.second, s["state"], "second job at %s", at)
		require.Equal(t, st.processedFirst, f["numberRecordsProcessed"], "at %s", at)
		require.Equal(t, st.processedSecond, s["numberRecordsProcessed"], "at %s", at)
		require.Len(t, b.sim.Records("Account"), st.accountsAfterStep, "at %s", at)
	}
	require.Equal(t, 5000.0, b.jobState(first)["totalProcessingTime"])
	require.Equal(t, 1000.0, b.jobState(second)["totalProcessingTime"])
	limits := b.get("limits").obj(t)
	require.Equal(t, 15000.0-4, limits["DailyBulkApiBatches"].(map[string]any)["Remaining"], "3 batches, then 1")
}

// Results come out of input order, but every row is in exactly one of the
// successful, failed and unprocessed results.
func TestBulkResultsComplete(t *testing.T) {
	t.Parallel()
	for _, inOrder := range []bool{false, true} {
		t.Run(fmt.Sprintf("inOrder=%v", inOrder), func(t *testing.T) {
			t.Parallel()
			b := setup(t, Options{BulkBatchSize: 100, BulkResultsInOrder: inOrder, CustomFields: extOptions.CustomFields})
			var sb strings.Builder
			sb.WriteString("Ext_Id__c,LastName\n")
			for i := range 450 {
				last := fmt.Sprint("L", i)
				if i%7 == 0 {
					last = "" // fails: LastName is required
				}
				fmt.Fprintf(&sb, "e-%d,%s\n", i, last)
			}
			id := b.runJob(map[string]any{"object": "Contact", "operation": "upsert", "externalIdFieldName": "Ext_Id__c"}, sb.String())
			b.clock.Advance(50 * time.Millisecond) // 450 records take 90 ms
			require.Equal(t, StateInProgress, b.jobState(id)["state"])
			b.clock.Advance(40 * time.Millisecond)
			require.Equal(t, StateJobComplete, b.jobState(id)["state"])

			var inputs []string
			seen := map[string]int{}
			for _, kind := range []string{"successfulResults", "failedResults", "unprocessedrecords"} {
				rows := csvRows(t, b.get("jobs/ingest/"+id+"/"+kind).raw)
				for _, row := range rows[1:] {
					ext := row[len(row)-2]
					seen[ext]++
					if kind == "successfulResults" {
						inputs = append(inputs, ext)
					}
				}
			}
			require.Len(t, seen, 450)
			for ext, n := range seen {
				require.Equal(t, 1, n, ext)
			}
			require.Equal(t, inOrder, slices.IsSortedFunc(inputs, func(x, y string) int {
				var a, c int
				fmt.Sscanf(x, "e-%d", &a)
				fmt.Sscanf(y, "e-%d", &c)
				return a - c
			}))
			require.Len(t, b.sim.Records("Contact"), 450-65)
		})
	}
}

func TestBulkAbort(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{BulkBatchSize: 10, BulkRecordsPerSecond: 10})
	var sb strings.Builder
	sb.WriteString("Name\n")
	for i := range 30 {
		fmt.Fprintf(&sb, "A%d\n", i)
	}
	id := b.runJob(map[string]any{"object": "Account", "operation": "insert"}, sb.String())
	b.clock.Advance(1500 * time.Millisecond)
	require.Equal(t, 10.0, b.jobState(id)["numberRecordsProcessed"])

	a := b.do(http.MethodPatch, "jobs/ingest/"+id, map[string]any{"state": "Aborted"})
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, StateAborted, a.obj(t)["state"])
	b.clock.Advance(time.Hour)
	info := b.jobState(id)
	require.Equal(t, StateAborted, info["state"])
	require.Equal(t, 10.0, info["numberRecordsProcessed"])
	require.Len(t, b.sim.Records("Account"), 10, "what was processed stays")
	unprocessed := csvRows(t, b.get("jobs/ingest/"+id+"/unprocessedrecords").raw)
	require.Len(t, unprocessed, 21)
	require.Equal(t, []string{"Name"}, unprocessed[0])
	require.Equal(t, []string{"A10"}, unprocessed[1])

	// The next job starts at once: the org stopped working on the aborted one.
	next := b.runJob(map[string]any{"object": "Account", "operation": "insert"}, "Name\nZ\n")
	b.clock.Advance(100 * time.Millisecond)
	require.Equal(t, StateJobComplete, b.jobState(next)["state"])

	// An Open job aborted keeps all its rows unprocessed.
	open := b.newJob(map[string]any{"object": "Account", "operation": "insert"})
	b.do(http.MethodPut, "jobs/ingest/"+open+"/batches", "Name\nX\nY\n")
	require.Equal(t, http.StatusOK, b.do(http.MethodPatch, "jobs/ingest/"+open, map[string]any{"state": "Aborted"}).status)
	require.Equal(t, "Name\nX\nY\n", string(b.get("jobs/ingest/"+open+"/unprocessedrecords").raw))
	require.Equal(t, "\"sf__Id\",\"sf__Created\",Name\n", string(b.get("jobs/ingest/"+open+"/successfulResults").raw))
}

func TestBulkStateErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.runJob(map[string]any{"object": "Account", "operation": "insert"}, "Name\nA\n")

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"upload to a closed job", http.MethodPut, "jobs/ingest/" + id + "/batches", "Name\nB\n", http.StatusConflict, "INVALIDJOBSTATE"},
		{"close twice", http.MethodPatch, "jobs/ingest/" + id, map[string]any{"state": "UploadComplete"}, http.StatusConflict, "INVALIDJOBSTATE"},
		{"unknown state", http.MethodPatch, "jobs/ingest/" + id, map[string]any{"state": "Closed"}, http.StatusBadRequest, "INVALIDJOBSTATE"},
		{"delete in progress", http.MethodDelete, "jobs/ingest/" + id, nil, http.StatusConflict, "INVALIDJOBSTATE"},
		{"unknown job", http.MethodGet, "jobs/ingest/7505g000015ftgGAAQ", nil, http.StatusNotFound, "NOT_FOUND"},
		{"unknown result", http.MethodGet, "jobs/ingest/" + id + "/everything", nil, http.StatusNotFound, "NOT_FOUND"},
	}
	for _, tt := range tests {
		a := b.do(tt.method, tt.path, tt.body)
		require.Equal(t, tt.status, a.status, "%s: %s", tt.name, a.raw)
		require.Equal(t, tt.code, a.errs(t)[0]["errorCode"], tt.name)
	}

	open := b.newJob(map[string]any{"object": "Account", "operation": "insert"})
	a := b.do(http.MethodPut, "jobs/ingest/"+open+"/batches", "Name\nA\n", "Content-Type", "application/json")
	require.Equal(t, http.StatusBadRequest, a.status)
	a = b.do(http.MethodPut, "jobs/ingest/"+open+"/batches", "Name\nA\n", "Content-Type", "text/csv; charset=UTF-8")
	require.Equal(t, http.StatusCreated, a.status)
}

func TestBulkUploadLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{MaxUploadBytes: 16})
	id := b.newJob(map[string]any{"object": "Account", "operation": "insert"})
	require.Equal(t, http.StatusCreated, b.do(http.MethodPut, "jobs/ingest/"+id+"/batches", "Name\nAcme\n").status, "12 bytes are 16 in base64")
	a := b.do(http.MethodPut, "jobs/ingest/"+id+"/batches", "Name\nAcme Inc\n")
	require.Equal(t, http.StatusRequestEntityTooLarge, a.status, "%s", a.raw)
}

func TestBulkMultipleUploads(t *testing.T) {
	t.Parallel()
	t.Run("refused when closing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{})
		id := b.newJob(map[string]any{"object": "Account", "operation": "insert"})
		require.Equal(t, http.StatusCreated, b.do(http.MethodPut, "jobs/ingest/"+id+"/batches", "Name\nA\n").status)
		require.Equal(t, http.StatusCreated, b.do(http.MethodPut, "jobs/ingest/"+id+"/batches", "Name\nB\n").status)
		a := b.do(http.MethodPatch, "jobs/ingest/"+id, map[string]any{"state": "UploadComplete"})
		require.Equal(t, http.StatusBadRequest, a.status)
		require.Equal(t, []map[string]any{{"errorCode": "INVALIDJOB", "message": "InvalidJob : Found multipe contents for job: <" + id +
			">, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job."}}, a.errs(t))
		require.Equal(t, StateOpen, b.jobState(id)["state"])
	})
	t.Run("allowed", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{BulkMultipleUploads: true})
		id := b.newJob(map[string]any{"object": "Account", "operation": "insert"})
		require.Equal(t, http.StatusCreated, b.do(http.MethodPut, "jobs/ingest/"+id+"/batches", "Name\nA\n").status)
		require.Equal(t, http.StatusCreated, b.do(http.MethodPut, "jobs/ingest/"+id+"/batches", "Name\nB\n").status)
		require.Equal(t, http.StatusBadRequest, b.do(http.MethodPut, "jobs/ingest/"+id+"/batches", "Name,Phone\nC,1\n").status)
		require.Equal(t, http.StatusOK, b.do(http.MethodPatch, "jobs/ingest/"+id, map[string]any{"state": "UploadComplete"}).status)
		b.clock.Advance(time.Second)
		require.Equal(t, 2.0, b.jobState(id)["numberRecordsProcessed"])
		require.Len(t, b.sim.Records("Account"), 2)
	})
}

// A job whose data cannot be read fails as a whole and processes nothing.
func TestBulkFailedJobs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		lineEnding string
		data       string
		message    string
	}{
		{"CRLF data in an LF job", "LF", "Name\r\nA\r\n", "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"},
		{"LF data in a CRLF job", "CRLF", "Name\nA\n", "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is CRLF"},
		{"unknown column", "LF", "Name,Colour__c\nA,red\n", "InvalidBatch : Field name not found : Colour__c"},
		{"unknown relationship", "LF", "Name,Owner.Email\nA,x\n", "InvalidBatch : Field name not found : Owner.Email"},
		{"parent field not an external id", "LF", "Name,Parent.Name\nA,x\n", "InvalidBatch : Field name provided, Name is not an External ID or indexed field for Account"},
		{"duplicate column", "LF", "Name,name\nA,B\n", "InvalidBatch : Duplicate field name: name"},
		{"wrong number of columns", "LF", "Name,Phone\nA,1\nB\n", "ClientInputError : Wrong number of columns on line 3: 1, the header has 2"},
		{"bare quote", "LF", "Name\nA\"b\n", `ClientInputError : Failed to parse CSV on line 2, column 2: bare " in non-quoted-field`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Options{})
			id := b.runJob(map[string]any{"object": "Account", "operation": "insert", "lineEnding": tt.lineEnding}, tt.data)
			b.clock.Advance(time.Second)
			info := b.jobState(id)
			require.Equal(t, StateFailed, info["state"])
			require.Equal(t, tt.message, info["errorMessage"])
			require.Equal(t, 0.0, info["numberRecordsProcessed"])
			require.Empty(t, b.sim.Records("Account"))
			require.Equal(t, tt.data, string(b.get("jobs/ingest/"+id+"/unprocessedrecords").raw))
		})
	}
	t.Run("CRLF data in a CRLF job", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{})
		id := b.runJob(map[string]any{"object": "Account", "operation": "insert", "lineEnding": "CRLF"}, "Name,Description\r\nA,\"two\r\nlines\"\r\n")
		b.clock.Advance(time.Second)
		require.Equal(t, StateJobComplete, b.jobState(id)["state"])
		require.Equal(t, "two\nlines", b.sim.Records("Account")[0].Fields["Description"], "Go's CSV reader reads CRLF in quotes as LF")
	})
}

func TestBulkOperations(t *testing.T) {
	t.Parallel()
	b := setup(t, extOptions)
	accounts := b.create(rec("Account", "Name", "North", "District_Id__c", "N"), rec("Account", "Name", "South", "District_Id__c", "S"))
	contacts := b.create(
		rec("Contact", "LastName", "One", "Ext_Id__c", "c-1", "Phone", "111", "Title", "CEO"),
		rec("Contact", "LastName", "Two", "Ext_Id__c", "c-2"),
		rec("Contact", "LastName", "Three", "Ext_Id__c", "c-3"))
	run := func(spec map[string]any, data string) string {
		id := b.runJob(spec, data)
		b.clock.Advance(time.Second)
		require.Equal(t, StateJobComplete, b.jobState(id)["state"])
		return id
	}

	// update: an empty cell leaves a field alone, #N/A clears it.
	id := run(map[string]any{"object": "Contact", "operation": "update"},
		"Id,Phone,Title\n"+contacts[0]+",,#N/A\n,1,\n"+accounts[0]+",2,\n")
	one, _ := b.sim.Find("Contact", "Id", contacts[0])
	require.Equal(t, map[string]any{"LastName": "One", "Ext_Id__c": "c-1", "Phone": "111", "HasOptedOutOfEmail": false, "DoNotCall": false}, one.Fields)
	ok := csvRows(t, b.get("jobs/ingest/"+id+"/successfulResults").raw)
	require.Equal(t, []string{contacts[0], "false", contacts[0], "", "#N/A"}, ok[1])
	failedRows := csvRows(t, b.get("jobs/ingest/"+id+"/failedResults").raw)[1:]
	slices.SortFunc(failedRows, func(x, y []string) int { return strings.Compare(x[2], y[2]) })
	require.Equal(t, [][]string{
		{"", "MISSING_ARGUMENT:Id not specified in an update call:--", "", "1", ""},
		{"", "MALFORMED_ID:Contact ID: id value of incorrect type: " + accounts[0] + ":Id --", accounts[0], "2", ""},
	}, failedRows)

	// upsert, with the parent named by its external id.
	id = run(map[string]any{"object": "Contact", "operation": "upsert", "externalIdFieldName": "Ext_Id__c"},
		"Ext_Id__c,LastName,Account.District_Id__c\nc-2,Two B,s\nc-9,Nine,N\nc-8,Eight,W\n")
	two, _ := b.sim.Find("Contact", "Ext_Id__c", "c-2")
	require.Equal(t, accounts[1], two.Fields["AccountId"])
	require.Equal(t, "Two B", two.Fields["LastName"])
	nine, _ := b.sim.Find("Contact", "Ext_Id__c", "c-9")
	require.Equal(t, accounts[0], nine.Fields["AccountId"])
	ok = csvRows(t, b.get("jobs/ingest/"+id+"/successfulResults").raw)
	require.Equal(t, []string{"sf__Id", "sf__Created", "Ext_Id__c", "LastName", "Account.District_Id__c"}, ok[0])
	created := map[string]string{}
	for _, row := range ok[1:] {
		created[row[2]] = row[1]
	}
	require.Equal(t, map[string]string{"c-2": "false", "c-9": "true"}, created)
	failedRows = csvRows(t, b.get("jobs/ingest/"+id+"/failedResults").raw)
	require.Equal(t, []string{"", "INVALID_FIELD:Foreign key external ID: W not found for field District_Id__c in entity Account:--", "c-8", "Eight", "W"}, failedRows[1])

	// delete to the recycle bin, then hardDelete for good.
	run(map[string]any{"object": "Contact", "operation": "delete"}, "Id\n"+contacts[1]+"\n")
	require.Len(t, b.sim.Deleted("Contact"), 1)
	id = run(map[string]any{"object": "Contact", "operation": "hardDelete"}, "Id\n"+contacts[1]+"\n"+contacts[2]+"\n"+contacts[2]+"\n")
	require.Empty(t, b.sim.Deleted("Contact"))
	_, found := b.sim.Find("Contact", "Id", contacts[2])
	require.False(t, found)
	require.Equal(t, 1.0, b.jobState(id)["numberRecordsFailed"], "the second delete of the same id")

	// Upsert by Id creates the rows without one.
	run(map[string]any{"object": "Account", "operation": "upsert", "externalIdFieldName": "Id"},
		"Id,Name\n"+accounts[0]+",North 2\n,West\n")
	north, _ := b.sim.Find("Account", "Id", accounts[0])
	require.Equal(t, "North 2", north.Fields["Name"])
	_, found = b.sim.Find("Account", "Name", "west")
	require.True(t, found)
}

func TestBulkDelimiter(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.runJob(map[string]any{"object": "Account", "operation": "insert", "columnDelimiter": "PIPE"}, "Name|Description\nA, Inc|x|y\n")
	b.clock.Advance(time.Second)
	failed := string(b.get("jobs/ingest/" + id + "/failedResults").raw)
	require.Equal(t, StateFailed, b.jobState(id)["state"], failed)

	id = b.runJob(map[string]any{"object": "Account", "operation": "insert", "columnDelimiter": "PIPE"}, "Name|Description\nA, Inc|\"x|y\"\n")
	b.clock.Advance(time.Second)
	ok := string(b.get("jobs/ingest/" + id + "/successfulResults").raw)
	rec := b.sim.Records("Account")[0]
	require.Equal(t, map[string]any{"Name": "A, Inc", "Description": "x|y"}, rec.Fields)
	require.Equal(t, "\"sf__Id\"|\"sf__Created\"|Name|Description\n\""+rec.ID+"\"|\"true\"|\"A, Inc\"|\"x|y\"\n", ok)
}

func TestBulkCreateErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, extOptions)
	tests := []struct {
		spec    map[string]any
		message string
	}{
		{map[string]any{"operation": "insert"}, "InvalidJob : object is required"},
		{map[string]any{"object": "Widget", "operation": "insert"}, "InvalidJob : " + fmt.Sprintf(unsupportedType, "Widget")},
		{map[string]any{"object": "Account", "operation": "merge"}, `InvalidJob : Invalid operation: "merge": want insert, update, upsert, delete or hardDelete`},
		{map[string]any{"object": "Account", "operation": "upsert"}, "InvalidJob : External ID was blank for Account. An External ID must be specified for upsert."},
		{map[string]any{"object": "Account", "operation": "upsert", "externalIdFieldName": "Name"}, "InvalidJob : Field name provided, Name is not an External ID or indexed field for Account"},
		{map[string]any{"object": "Account", "operation": "upsert", "externalIdFieldName": "Nope__c"}, "InvalidJob : Field name not found : Nope__c"},
		{map[string]any{"object": "Account", "operation": "insert", "contentType": "JSON"}, "InvalidJob : Invalid contentType: JSON: only CSV is supported"},
		{map[string]any{"object": "Account", "operation": "insert", "columnDelimiter": "COLON"}, "InvalidJob : Invalid columnDelimiter: COLON"},
		{map[string]any{"object": "Account", "operation": "insert", "lineEnding": "CR"}, "InvalidJob : Invalid lineEnding: CR"},
	}
	for _, tt := range tests {
		a := b.do(http.MethodPost, "jobs/ingest", tt.spec)
		require.Equal(t, http.StatusBadRequest, a.status, "%v", tt.spec)
		require.Equal(t, []map[string]any{{"errorCode": "INVALIDJOB", "message": tt.message}}, a.errs(t))
	}
	require.Empty(t, b.sim.Jobs())
}

func TestBulkListAndDelete(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	done := b.runJob(map[string]any{"object": "Account", "operation": "insert"}, "Name\nA\n")
	open := b.newJob(map[string]any{"object": "Contact", "operation": "insert"})
	b.clock.Advance(time.Second)

	list := b.get("jobs/ingest").obj(t)
	require.Equal(t, true, list["done"])
	require.Nil(t, list["nextRecordsUrl"])
	require.Len(t, list["records"], 2)
	require.Equal(t, []string{done, open}, []string{b.sim.Jobs()[0].ID, b.sim.Jobs()[1].ID})

	require.Equal(t, http.StatusConflict, b.do(http.MethodDelete, "jobs/ingest/"+open, nil).status)
	a := b.do(http.MethodDelete, "jobs/ingest/"+done, nil)
	require.Equal(t, http.StatusNoContent, a.status)
	require.Empty(t, a.raw)
	require.Equal(t, http.StatusNotFound, b.get("jobs/ingest/"+done).status)
	require.Len(t, b.sim.Jobs(), 1)
	_, ok := b.sim.Job(done)
	require.False(t, ok)
	require.Len(t, b.sim.Records("Account"), 1, "deleting a job keeps its records")
}

func TestBulkDailyQuota(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{BulkBatchSize: 10, BulkDailyRecords: 15})
	var sb strings.Builder
	sb.WriteString("Name\n")
	for i := range 20 {
		fmt.Fprintf(&sb, "A%d\n", i)
	}
	id := b.runJob(map[string]any{"object": "Account", "operation": "insert"}, sb.String())
	b.clock.Advance(time.Second)
	info := b.jobState(id)
	require.Equal(t, StateFailed, info["state"])
	require.Equal(t, "ExceededQuota : the org has used its Bulk API records for the last 24 hours", info["errorMessage"])
	require.Equal(t, 10.0, info["numberRecordsProcessed"])
	require.Len(t, csvRows(t, b.get("jobs/ingest/"+id+"/unprocessedrecords").raw), 11)

	// The allowance is a rolling 24 hours.
	b.clock.Advance(24 * time.Hour)
	id = b.runJob(map[string]any{"object": "Account", "operation": "insert"}, "Name\nB\n")
	b.clock.Advance(time.Second)
	require.Equal(t, StateJobComplete, b.jobState(id)["state"])
}

// multipartJob is a multipart create job request body with a job part and,
// unless content is empty, a content part.
func multipartJob(job, content string) string {
	body := "--BOUNDARY\r\n" +
		"Content-Type: application/json\r\n" +
		"Content-Disposition: form-data; name=\"job\"\r\n\r\n" + job + "\r\n"
	if content != "" {
		body += "--BOUNDARY\r\n" +
			"Content-Type: text/csv\r\n" +
			"Content-Disposition: form-data; name=\"content\"; filename=\"content\"\r\n\r\n" + content + "\r\n"
	}
	return body + "--BOUNDARY--\r\n"
}

// A multipart create job request carries the job and its data: the job comes
// back UploadComplete and is processed as a closed job is.
func TestBulkMultipartCreateJob(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	const multipartType = "multipart/form-data; boundary=BOUNDARY"
	jobSpec := `{"object":"Contact","contentType":"CSV","operation":"insert","lineEnding":"LF"}`
	a := b.do(http.MethodPost, "jobs/ingest/",
		multipartJob(jobSpec, "FirstName,LastName,MailingCity\nAstro,Nomical,San Francisco\nHootie,McOwl,San Francisco\n"),
		"Content-Type", multipartType)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	job := a.obj(t)
	require.Equal(t, "UploadComplete", job["state"], "%s", a.raw)
	require.Equal(t, "Contact", job["object"])

	b.clock.Advance(time.Minute)
	require.Equal(t, "JobComplete", b.jobState(job["id"].(string))["state"])
	contacts := b.sim.Records("Contact")
	require.Len(t, contacts, 2)
	require.Equal(t, "Nomical", contacts[0].Fields["LastName"])
	require.Equal(t, "San Francisco", contacts[1].Fields["MailingCity"])

	a = b.do(http.MethodPut, "jobs/ingest/"+job["id"].(string)+"/batches", "LastName\nX\n")
	require.Equal(t, http.StatusConflict, a.status, "a multipart job takes no more uploads: %s", a.raw)

	for _, body := range []string{
		multipartJob(jobSpec, ""),
		multipartJob(jobSpec, "LastName\n"+strings.Repeat("x", 100_000)+"\n"),
		multipartJob(`{"object":"Nope","operation":"insert"}`, "LastName\nX\n"),
	} {
		a = b.do(http.MethodPost, "jobs/ingest", body, "Content-Type", multipartType)
		require.Equal(t, http.StatusBadRequest, a.status, "%s", a.raw)
		require.Equal(t, "INVALIDJOB", a.errs(t)[0]["errorCode"], "%s", a.raw)
	}
	require.Len(t, b.sim.Jobs(), 1)
}
