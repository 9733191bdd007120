package config

import (
	"fmt"
	"slices"
	"strings"
)

// Pos is a place in the project file; Line and Col count from 1, and a zero Line
// means the problem concerns the whole file.
type Pos struct {
	File      string
	Line, Col int
}

// String formats p the way editors and compilers do: "sluice.yaml:12:5".
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.File == "":
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

func (p Pos) before(q Pos) bool {
	if p.Line != q.Line {
		return p.Line < q.Line
	}
	return p.Col < q.Col
}

// Error is one problem in the project file.
type Error struct {
	Pos     Pos
	Path    string // the key path, e.g. "syncs.users_to_hook.mode"
	Message string // what is wrong and what to do
	// Unresolved marks a ${env:…} or ${file:…} reference that could not be read.
	Unresolved bool
}

func (e *Error) Error() string {
	var b strings.Builder
	if s := e.Pos.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Errors is every problem found in a project file. Load and Parse return it as a
// *Errors, sorted in file order.
type Errors []*Error

// Error lists the problems one a line, in file order.
func (e Errors) Error() string {
	sorted := slices.Clone(e)
	sortErrors(sorted)
	lines := make([]string, len(sorted))
	for i, err := range sorted {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find a single *Error among them.
func (e Errors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, err := range e {
		errs[i] = err
	}
	return errs
}

// As lets callers target either Errors or *Errors with errors.As.
func (e *Errors) As(target any) bool {
	if t, ok := target.(*Errors); ok {
		*t = *e
		return true
	}
	return false
}

func sortErrors(errs Errors) {
	slices.SortStableFunc(errs, func(a, b *Error) int {
		switch {
		case a.Pos.before(b.Pos):
			return -1
		case b.Pos.before(a.Pos):
			return 1
		}
		return 0
	})
}

// joinPath appends a key to a dotted key path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath appends a list index to a key path.
func indexPath(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}
