package facebook

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// The final membership after a sequence of adds, removes and a replace, as a
// destination's test would assert it.
func TestFinalMembership(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	ann := person("ann@x.com", "15550001", "ann")
	bob := person("bob@x.com", "15550002", "bob")
	cy := person("cy@x.com", "15550003", "cy")
	annNewPhone := person("ann@x.com", "15559999", "ann")

	usersOK(t, b.add(testAud, multi(ann, bob)), 2, 0)
	usersOK(t, b.add(testAud, multi(bob, cy)), 2, 0)         // Bob again: no new member
	usersOK(t, b.add(testAud, multi(annNewPhone)), 1, 0)     // another row for Ann's email
	usersOK(t, b.remove(testAud, emails("bob@x.com")), 1, 0) // by email only
	require.Equal(t, []Member{
		{Identifiers: map[string]string{"EMAIL": h("EMAIL", "ann@x.com"), "PHONE": h("PHONE", "15550001"), "FN": h("FN", "ann")}},
		{Identifiers: map[string]string{"EMAIL": h("EMAIL", "cy@x.com"), "PHONE": h("PHONE", "15550003"), "FN": h("FN", "cy")}},
		{Identifiers: map[string]string{"EMAIL": h("EMAIL", "ann@x.com"), "PHONE": h("PHONE", "15559999"), "FN": h("FN", "ann")}},
	}, b.sim.Members(testAud))
	require.ElementsMatch(t, []string{h("EMAIL", "ann@x.com"), h("EMAIL", "cy@x.com")}, b.sim.Identifiers(testAud, "EMAIL"))

	// Removing Ann's email removes both her rows.
	usersOK(t, b.remove(testAud, emails("ann@x.com")), 1, 0)
	require.False(t, b.sim.Has(testAud, "PHONE", h("PHONE", "15559999")))
	require.True(t, b.sim.Has(testAud, "FN", h("FN", "cy")))

	// A replace leaves exactly its rows.
	usersOK(t, b.replaceBatch(testAud, 11, 1, false, multi(ann)), 1, 0)
	usersOK(t, b.replaceBatch(testAud, 11, 2, true, multi(bob)), 1, 0)
	require.Equal(t, []string{h("EMAIL", "ann@x.com"), h("EMAIL", "bob@x.com")}, emailSet(b.sim, testAud))
	require.False(t, b.sim.Has(testAud, "EMAIL", h("EMAIL", "cy@x.com")))

	got, _ := b.sim.Audience(testAud)
	require.Equal(t, 2, got.Size)
}

func TestSeedMembers(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	require.NoError(t, b.sim.SeedMembers(testAud,
		Member{Identifiers: map[string]string{"EMAIL": h("EMAIL", "a"), "PHONE": ""}},
		Member{Identifiers: map[string]string{"MADID": "6d92078a-8246-4ba4-ae5b-76104861e7dc"}},
	))
	require.Equal(t, []Member{
		{Identifiers: map[string]string{"EMAIL": h("EMAIL", "a")}},
		{Identifiers: map[string]string{"MADID": "6d92078a-8246-4ba4-ae5b-76104861e7dc"}},
	}, b.sim.Members(testAud))
	require.Empty(t, b.sim.Log().Requests())
	require.Error(t, b.sim.SeedMembers(testAud, Member{Identifiers: map[string]string{"SHOE": "x"}}))
	require.Error(t, b.sim.SeedMembers(testAud, Member{}))
	require.Error(t, b.sim.SeedMembers("404", Member{Identifiers: map[string]string{"EMAIL": "x"}}))
	require.Nil(t, b.sim.Members("404"))
}

// Strong identifiers match alone; the others match only all together, so that a
// removal by gender or country does not empty the audience.
func TestMatchKeys(t *testing.T) {
	t.Parallel()
	schema := []string{"EMAIL", "FN", "LN", "ZIP", "GEN"}
	row := func(email, fn, ln, zip, gen string) []any {
		return []any{h("EMAIL", email), h("FN", fn), h("LN", ln), h("ZIP", zip), h("GEN", gen)}
	}
	payload := func(rows ...[]any) map[string]any { return map[string]any{"schema": schema, "data": rows} }
	tests := []struct {
		name   string
		remove map[string]any
		left   []string // emails left ("" for the row without one)
	}{
		{"by email", emails("ann@x.com"), []string{"bob@x.com", ""}},
		{"by gender alone", map[string]any{"schema": []string{"GEN"}, "data": [][]string{{h("GEN", "f")}}}, []string{"ann@x.com", "bob@x.com", ""}},
		{"by name and zip, all of them", payload(row("", "ann", "lee", "94025", "f")), []string{"bob@x.com", ""}},
		{"by name and zip, some of them", payload(row("", "ann", "lee", "", "")), []string{"ann@x.com", "bob@x.com", ""}},
		{"the row without email", payload(row("", "cy", "ng", "10001", "")), []string{"ann@x.com", "bob@x.com"}},
		{"by another email, same name", payload(row("other@x.com", "bob", "ray", "94025", "m")), []string{"ann@x.com", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Options{})
			usersOK(t, b.add(testAud, payload(row("ann@x.com", "ann", "lee", "94025", "f"), row("bob@x.com", "bob", "ray", "94025", "m"),
				row("", "cy", "ng", "10001", ""))), 3, 0)
			b.remove(testAud, tt.remove)
			var left []string
			for _, m := range b.sim.Members(testAud) {
				e := m.Identifiers["EMAIL"]
				for _, raw := range []string{"ann@x.com", "bob@x.com"} {
					if e == h("EMAIL", raw) {
						e = raw
					}
				}
				left = append(left, e)
			}
			require.Equal(t, tt.left, left)
		})
	}
}

// Many adds and removes keep the indexes consistent (and compact the store).
func TestMembersChurn(t *testing.T) {
	t.Parallel()
	ms := newMembers()
	email := func(i int) row { return row{ids: []ident{{"EMAIL", h("EMAIL", fmt.Sprint(i))}}} }
	for i := range 5000 {
		ms.add(email(i))
	}
	for i := range 5000 {
		if i%3 != 1 {
			ms.remove(email(i))
		}
	}
	require.Equal(t, 1667, ms.len())
	require.Less(t, len(ms.rows), 5000, "compacted")
	for i := range 5000 {
		require.Equal(t, i%3 == 1, ms.has("EMAIL", h("EMAIL", fmt.Sprint(i))), "%d", i)
	}
	ms.add(email(0))
	require.Equal(t, h("EMAIL", "1"), ms.export()[0].Identifiers["EMAIL"], "order of first addition survives compaction")
	require.Equal(t, h("EMAIL", "0"), ms.export()[1667].Identifiers["EMAIL"])
}
