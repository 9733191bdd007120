package postgres

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseTableName(t *testing.T) {
	for in, want := range map[string][]namePart{
		"users":             {{text: "users"}},
		"crm.Users":         {{text: "crm"}, {text: "Users"}},
		`"My Schema"."a.b"`: {{text: "My Schema", quoted: true}, {text: "a.b", quoted: true}},
		`crm."say ""hi"""`:  {{text: "crm"}, {text: `say "hi"`, quoted: true}},
	} {
		got, err := parseTableName(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", ".", "a.", ".b", "a.b.c", `"a`, `"a"b`} {
		_, err := parseTableName(bad)
		require.Error(t, err, bad)
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ url, text, want string }{
		{"postgres://u:s3cr%40t@h/db", "parse \"postgres://u:s3cr%40t@h/db\": bad", "parse \"[REDACTED]\": bad"},
		{"postgres://u:s3cr%40t@h/db", "password was s3cr@t", "password was [REDACTED]"},
		{"postgres://u:s3cr%40t@h/db", "other postgresql://v:other@h2/db", "other postgresql://v:[REDACTED]@h2/db"},
		{"postgres://u:pw@h/db", "postgres://u:pw@h:1/db and pw elsewhere", "postgres://u:[REDACTED]@h:1/db and pw elsewhere"},
		{"host=h password='a b c d'", "host=h password='a b c d' x", "[REDACTED] x"},
		{"host=h password=hunter2 port=x", "cannot parse host=h password=hunter2 port=x", "cannot parse [REDACTED]"},
	} {
		require.Equal(t, tc.want, newRedactor(tc.url).redact(tc.text), tc.text)
	}
}
