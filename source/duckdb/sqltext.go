package duckdb

import "strings"

// splitStatements splits SQL text at the semicolons that end statements, those outside
// strings, quoted identifiers, dollar-quoted text and comments. It drops statements
// that hold nothing but spaces and comments, and the terminating semicolons.
//
// A model's last statement is its query; the ones before it (SET, LOAD, CREATE TEMP
// TABLE) prepare the query's connection. The source must know where the last one
// starts: DESCRIBE and the casting wrapper apply to it alone.
func splitStatements(sql string) []string {
	var stmts []string
	start, blank := 0, true
	flush := func(end int) {
		if !blank {
			stmts = append(stmts, strings.TrimFunc(sql[start:end], func(r rune) bool { return r < 0x80 && isSpace(byte(r)) }))
		}
		start, blank = end+1, true
	}
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ';':
			flush(i)
			i++
		case isSpace(c):
			i++
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			end := strings.IndexByte(sql[i:], '\n')
			if end < 0 {
				i = len(sql)
			} else {
				i += end + 1
			}
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			i = skipBlockComment(sql, i)
		default:
			blank = false
			i = skipToken(sql, i)
		}
	}
	flush(len(sql))
	return stmts
}

// skipBlockComment returns the index after the /* comment */ at i; DuckDB, like
// PostgreSQL, lets block comments nest.
func skipBlockComment(sql string, i int) int {
	depth := 0
	for i < len(sql) {
		switch {
		case strings.HasPrefix(sql[i:], "/*"):
			depth++
			i += 2
		case strings.HasPrefix(sql[i:], "*/"):
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		default:
			i++
		}
	}
	return i
}

// skipToken returns the index after the token at i: a quoted string or identifier,
// dollar-quoted text, or a single other byte.
func skipToken(sql string, i int) int {
	c := sql[i]
	switch {
	case c == '\'':
		escapes := i > 0 && (sql[i-1] == 'e' || sql[i-1] == 'E') && (i < 2 || !isWordByte(sql[i-2]))
		return skipQuoted(sql, i, '\'', escapes)
	case c == '"':
		return skipQuoted(sql, i, '"', false)
	case c == '$' && (i == 0 || !isWordByte(sql[i-1])):
		if tag, ok := dollarTag(sql[i:]); ok {
			if end := strings.Index(sql[i+len(tag):], tag); end >= 0 {
				return i + len(tag) + end + len(tag)
			}
			return len(sql)
		}
	}
	return i + 1
}

// skipQuoted returns the index after the quoted text at i, where a doubled quote
// stands for one and, in E'...' strings, a backslash escapes the next byte.
func skipQuoted(sql string, i int, q byte, escapes bool) int {
	for i++; i < len(sql); i++ {
		switch sql[i] {
		case '\\':
			if escapes {
				i++
			}
		case q:
			if i+1 < len(sql) && sql[i+1] == q {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(sql)
}

// dollarTag returns the opening tag of dollar-quoted text ("$$", "$body$") at the
// start of s. "$1", a parameter, is not one.
func dollarTag(s string) (string, bool) {
	for j := 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '$':
			return s[:j+1], true
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80:
		case c >= '0' && c <= '9' && j > 1:
		default:
			return "", false
		}
	}
	return "", false
}
