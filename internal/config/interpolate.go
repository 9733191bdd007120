package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// minSecretLen is the shortest interpolated or secret value that is redacted;
// shorter ones would blank out ordinary words and numbers everywhere.
const minSecretLen = 4

// maxSecretFileSize bounds what ${file:…} reads, so a reference to a device or a
// log file fails clearly instead of filling memory.
const maxSecretFileSize = 1 << 20

var (
	refPattern  = regexp.MustCompile(`\$\{[^}]*\}`)
	envVarName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	refHelpText = "use ${env:NAME} or ${file:path}, or write $${ for a literal ${"
)

// interpolate replaces the ${env:NAME} and ${file:path} references in a string
// value and turns $${ into ${. It reports bad references at pos and returns
// whether anything was substituted and whether a reference failed.
func (l *loader) interpolate(raw string, pos Pos, path string) (text string, interpolated, broken bool) {
	if !strings.Contains(raw, "${") {
		return raw, false, false
	}
	var b strings.Builder
	for i := 0; i < len(raw); {
		switch {
		case strings.HasPrefix(raw[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(raw[i:], "${"):
			end := strings.IndexByte(raw[i:], '}')
			if end < 0 {
				l.errorf(pos, path, "unterminated reference %q: close it with } or write $${ for a literal ${", raw[i:])
				return raw, interpolated, true
			}
			ref := raw[i : i+end+1]
			value, ok := l.resolve(ref, pos, path)
			if ok {
				b.WriteString(value)
				l.addSecret(value)
				interpolated = true
			} else {
				broken = true
			}
			i += end + 1
		default:
			b.WriteByte(raw[i])
			i++
		}
	}
	return b.String(), interpolated, broken
}

// resolve returns the value of one reference, "${scheme:arg}".
func (l *loader) resolve(ref string, pos Pos, path string) (string, bool) {
	scheme, arg, ok := strings.Cut(ref[2:len(ref)-1], ":")
	switch {
	case !ok:
		l.errorf(pos, path, "unsupported reference %s: %s", ref, refHelpText)
	case scheme == "env":
		return l.env(ref, arg, pos, path)
	case scheme == "file":
		return l.readSecretFile(ref, arg, pos, path)
	default:
		l.errorf(pos, path, "unsupported reference %s: %s", ref, refHelpText)
	}
	return "", false
}

func (l *loader) env(ref, name string, pos Pos, path string) (string, bool) {
	if !envVarName.MatchString(name) {
		l.errorf(pos, path, "invalid environment variable name in %s: use letters, digits and _, not starting with a digit", ref)
		return "", false
	}
	value, ok := l.lookupEnv(name)
	if !ok {
		l.errorf(pos, path, "environment variable %s is not set: export it or remove the reference", name)
		l.errs[len(l.errs)-1].Unresolved = true
		return "", false
	}
	return value, true
}

func (l *loader) readSecretFile(ref, name string, pos Pos, path string) (string, bool) {
	if name == "" {
		l.errorf(pos, path, "empty file name in %s: write ${file:path}, relative to the project directory", ref)
		return "", false
	}
	full := name
	if !filepath.IsAbs(full) {
		full = filepath.Join(l.dir, full)
	}
	data, err := readSmallFile(full)
	if err != nil {
		l.errorf(pos, path, "cannot read %s (%s): %v: create the file or fix the path", ref, full, err)
		l.errs[len(l.errs)-1].Unresolved = true
		return "", false
	}
	s := string(data)
	if strings.HasSuffix(s, "\n") {
		s = strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
	}
	return s, true
}

func readSmallFile(name string) ([]byte, error) {
	// Stat before opening: opening a named pipe would block until a writer came.
	info, err := os.Stat(name)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	if !info.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFileSize+1))
	if err != nil {
		return nil, unwrapPathError(err)
	}
	if len(data) > maxSecretFileSize {
		return nil, fmt.Errorf("larger than %d bytes", maxSecretFileSize)
	}
	return data, nil
}

// unwrapPathError drops the operation and path that *fs.PathError repeats, since
// the message already names the file.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
