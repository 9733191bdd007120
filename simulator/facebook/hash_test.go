package facebook

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct{ key, in, want string }{
		{"EMAIL", "  Ann.Lee@Example.COM ", "ann.lee@example.com"},
		{"PHONE", "+1 (555) 123-4567", "15551234567"},
		{"PHONE", "0044 20 7946 0958", "442079460958"},
		{"GEN", "Female", "f"},
		{"GEN", "M", "m"},
		{"DOBY", "1990", "1990"},
		{"DOBM", "3", "03"},
		{"DOBD", "07", "07"},
		{"FN", "Mary-Jane!", "maryjane"},
		{"LN", "Ólafsdóttir", "ólafsdóttir"},
		{"FI", "Mary", "m"},
		{"CT", "New York", "newyork"},
		{"ST", "CA", "ca"},
		{"ZIP", "94025-1234", "94025"},
		{"ZIP", "SW1A 1AA", "sw1a1aa"},
		{"COUNTRY", "US", "us"},
		{"MADID", "6D92078A-8246-4BA4-AE5B-76104861E7DC", "6d92078a-8246-4ba4-ae5b-76104861e7dc"},
		{"EXTERN_ID", "CRM-42", "CRM-42"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Normalize(tt.key, tt.in), "%s %q", tt.key, tt.in)
	}
}

func TestHashValue(t *testing.T) {
	t.Parallel()
	require.Equal(t, HashValue("EMAIL", "test@fb.com"), HashValue("EMAIL", " TEST@fb.com"), "normalised first")
	require.Len(t, HashValue("EMAIL", "a@b.c"), 64)
	require.Equal(t, "crm-42", HashValue("EXTERN_ID", "crm-42"))
	require.Equal(t, "6d92078a-8246-4ba4-ae5b-76104861e7dc", HashValue("MADID", "6D92078A-8246-4BA4-AE5B-76104861E7DC"))
	require.Empty(t, HashValue("PHONE", "  "))
	require.Equal(t, "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b", HashValue("EMAIL", "test@example.com"))
}
