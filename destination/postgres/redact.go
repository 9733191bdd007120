package postgres

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// redactor removes the connection URL's password from text that leaves the package.
// pgx already hides the password in most errors, but not all (a URL that fails to
// parse is quoted whole), so every error that did not come from the server goes
// through redact.
type redactor struct {
	secrets []string
}

var (
	urlUserinfo = regexp.MustCompile(`(?i)(postgres(?:ql)?://[^:@/\s]*:)[^@\s]*@`)
	dsnPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)`)
)

const redacted = "[REDACTED]"

func newRedactor(rawURL string) redactor {
	var r redactor
	if rawURL == "" {
		return r
	}
	r.secrets = append(r.secrets, rawURL)
	var passwords []string
	if m := urlUserinfo.FindStringSubmatchIndex(rawURL); m != nil {
		passwords = append(passwords, rawURL[m[3]:m[1]-1])
	}
	for _, m := range dsnPassword.FindAllStringSubmatch(rawURL, -1) {
		passwords = append(passwords, strings.Trim(m[2], "'"))
	}
	for _, p := range passwords {
		// Very short passwords would blank out ordinary words; the patterns above
		// still catch them where they appear as a URL or a keyword.
		if len(p) < 4 {
			continue
		}
		r.secrets = append(r.secrets, p)
		if u, err := url.PathUnescape(p); err == nil && u != p {
			r.secrets = append(r.secrets, u)
		}
	}
	return r
}

func (r redactor) redact(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	s = urlUserinfo.ReplaceAllString(s, "${1}"+redacted+"@")
	return dsnPassword.ReplaceAllString(s, "${1}"+redacted)
}

// redactedError is an error whose text has been cleaned. It unwraps only to what is
// safe to inspect: the server's error or the context's.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }

// wrap returns err, prefixed, with the password removed from its text. Errors from the
// server (*pgconn.PgError) carry no connection string and keep their chain.
func (r redactor) wrap(prefix string, err error) error {
	var pgErr *pgconn.PgError
	var cause error
	switch {
	case errors.As(err, &pgErr):
		cause = pgErr
	case errors.Is(err, context.Canceled):
		cause = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		cause = context.DeadlineExceeded
	}
	return &redactedError{msg: prefix + ": " + r.redact(err.Error()), cause: cause}
}

// sqlState returns the SQLSTATE of a server error, or "".
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// rowLevel reports whether a statement failed because of the data of some rows, so
// that splitting the batch can find them: data exceptions (class 22), integrity
// constraint violations (23: not-null, check, unique, foreign key), cardinality
// violations (21: two rows for one key) and exceptions raised by triggers (P0001).
func rowLevel(code string) bool {
	return strings.HasPrefix(code, "22") || strings.HasPrefix(code, "23") || code == "21000" || code == "P0001"
}

// permanentState reports whether retrying a statement that failed with code is useless:
// the table or a column is gone, a privilege is missing, the statement cannot work.
func permanentState(code string) bool {
	for _, class := range []string{"42", "0A", "3D", "3F", "28"} {
		if strings.HasPrefix(code, class) {
			return true
		}
	}
	return false
}

// hintFor says what to do about a permanent server error.
func hintFor(code string) string {
	switch code {
	case "42P01":
		return "the table was dropped or renamed since the sync started; recreate it or fix the destination's table"
	case "42703":
		return "a column was dropped or renamed since the sync started; add it back or change the mappings"
	case "42501":
		return "grant the role INSERT, UPDATE and DELETE on the table (as the mode needs) and TEMPORARY on the database"
	}
	return ""
}
