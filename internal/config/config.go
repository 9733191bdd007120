// Package config loads a Sluice project file: it parses the YAML, interpolates
// secrets, checks every key and decodes each connector's settings into the
// connector's own config struct, reporting every problem with its file, line and key.
package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/template"
)

// DefaultFile is the project file's name when none is given.
const DefaultFile = "sluice.yaml"

// DefaultStateDir is where run state lives, beside the project file, when
// state.dir is not set.
const DefaultStateDir = ".sluice"

// Redacted replaces secret values in output.
const Redacted = "[REDACTED]"

// Catalog is how config learns connector types; internal/registry implements it.
type Catalog interface {
	Source(typ string) (connector.SourceSpec, bool)
	Destination(typ string) (connector.DestinationSpec, bool)
	SourceTypes() []string
	DestinationTypes() []string
}

// Options adjusts loading.
type Options struct {
	// LookupEnv resolves ${env:NAME}; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// AllowUnresolved loads a project whose only problems are ${env:…} or
	// ${file:…} references that cannot be read (their keys are left empty), for
	// commands that read the run log and contact no source or destination.
	AllowUnresolved bool
}

// Project is a loaded, valid project file.
type Project struct {
	File     string // path as given
	Dir      string // directory of the file (absolute)
	StateDir string // absolute; state.dir resolved against Dir, default Dir/.sluice

	Sources      map[string]*Source
	Models       map[string]*Model
	Destinations map[string]*Destination
	Syncs        map[string]*Sync

	// Secrets are the values that came from ${env:…}/${file:…} interpolation or from
	// keys tagged secret:"true", to be redacted from every output, log and stored
	// request. They are sorted longest first.
	Secrets []string
}

// Source is a declared source.
type Source struct {
	Name, Type string
	Config     any // the value the spec's NewConfig returned, decoded
	Pos        Pos // where the source's name is written
}

// Model is a declared model: exactly one of Query and Table is set.
type Model struct {
	Name, Source, Query, Table, PrimaryKey string

	Pos           Pos // where the model's name is written
	PrimaryKeyPos Pos // where the primary_key value is written
}

// Destination is a declared destination.
type Destination struct {
	Name, Type string
	Config     any // the value the spec's NewConfig returned, decoded
	Pos        Pos // where the destination's name is written
}

// Sync moves one model to one destination.
type Sync struct {
	Name, Model, Destination string
	Mode                     connector.Mode
	// Mappings is nil when the key is omitted: every column, same name.
	Mappings []Mapping
	// SyncConfig is decoded from the destination spec's NewSyncConfig; nil if the
	// spec has none.
	SyncConfig any
	Pos        Pos // where the sync's name is written
}

// Mapping sends model column From as destination field To.
type Mapping struct {
	From, To string
	// Template, when set (from_template), renders the field from the whole row
	// instead of copying the column From.
	Template *template.Template
	Pos      Pos // where the mapping's list item starts
}

// SyncNames returns the names of the syncs, sorted.
func (p *Project) SyncNames() []string {
	names := make([]string, 0, len(p.Syncs))
	for name := range p.Syncs {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Sync returns the named sync, or an error that lists the syncs there are.
func (p *Project) Sync(name string) (*Sync, error) {
	if s, ok := p.Syncs[name]; ok {
		return s, nil
	}
	names := p.SyncNames()
	if len(names) == 0 {
		return nil, fmt.Errorf("no sync named %q: %s declares no syncs", name, p.File)
	}
	return nil, fmt.Errorf("no sync named %q in %s: the syncs are %s", name, p.File, strings.Join(names, ", "))
}

// Redact replaces every secret value in s, longest first, with "[REDACTED]".
func (p *Project) Redact(s string) string {
	if p == nil {
		return s
	}
	return redact(s, p.Secrets)
}

// RedactBytes is Redact for bytes; it returns b itself when b holds no secret, so
// large request bodies are not copied.
func (p *Project) RedactBytes(b []byte) []byte {
	if p == nil {
		return b
	}
	for _, secret := range p.Secrets {
		if secret != "" && bytes.Contains(b, []byte(secret)) {
			return []byte(redact(string(b), p.Secrets))
		}
	}
	return b
}

func redact(s string, secrets []string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, Redacted)
		}
	}
	return s
}

// Load reads, interpolates, validates and decodes the project file at path.
// On problems it returns a *Errors listing all of them (and a nil project).
func Load(path string, cat Catalog, opts Options) (*Project, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		errs := Errors{{
			Pos:     Pos{File: path},
			Message: fmt.Sprintf("cannot read the project file: %v: check the path", unwrapPathError(err)),
		}}
		return nil, &errs
	}
	return Parse(path, filepath.Dir(path), data, cat, opts)
}

// Parse is Load on bytes already read; name is used in messages, dir resolves
// relative paths.
func Parse(name, dir string, data []byte, cat Catalog, opts Options) (*Project, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		errs := Errors{{
			Pos:     Pos{File: name},
			Message: fmt.Sprintf("cannot resolve the project directory %q: %v", dir, err),
		}}
		return nil, &errs
	}
	l := &loader{
		file:      name,
		dir:       absDir,
		cat:       cat,
		lookupEnv: opts.LookupEnv,
		secrets:   map[string]struct{}{},
	}
	if l.cat == nil {
		l.cat = emptyCatalog{}
	}
	if l.lookupEnv == nil {
		l.lookupEnv = os.LookupEnv
	}
	p := &Project{
		File:         name,
		Dir:          absDir,
		StateDir:     filepath.Join(absDir, DefaultStateDir),
		Sources:      map[string]*Source{},
		Models:       map[string]*Model{},
		Destinations: map[string]*Destination{},
		Syncs:        map[string]*Sync{},
	}
	if root := l.parseYAML(data); root != nil {
		l.project(p, root)
	}
	secrets := l.sortedSecrets()
	// The state directory must be known even then: reading another one would
	// show (or create) the wrong run log.
	if opts.AllowUnresolved && !slices.ContainsFunc(l.errs, func(e *Error) bool { return !e.Unresolved || strings.HasPrefix(e.Path, "state") }) {
		l.errs = nil
	}
	if len(l.errs) > 0 {
		// Messages quote values and connectors' own Validate errors; a secret must
		// not reach a terminal through either.
		for _, e := range l.errs {
			e.Message = redact(e.Message, secrets)
			e.Path = redact(e.Path, secrets)
		}
		sortErrors(l.errs)
		errs := l.errs
		return nil, &errs
	}
	p.Secrets = secrets
	return p, nil
}

// loader holds what one Parse call has learned so far.
type loader struct {
	file      string
	dir       string
	cat       Catalog
	lookupEnv func(string) (string, bool)
	errs      Errors
	secrets   map[string]struct{}
	// brokenValues counts the values a decoder skipped because their
	// interpolation failed, so that Validate does not judge a half-decoded block.
	brokenValues int
}

func (l *loader) pos(line, col int) Pos { return Pos{File: l.file, Line: line, Col: col} }

func (l *loader) errorf(pos Pos, path, format string, args ...any) {
	l.errs = append(l.errs, &Error{Pos: pos, Path: path, Message: fmt.Sprintf(format, args...)})
}

// addSecret registers s for redaction, and s without surrounding white space
// too: a value read from a file or an environment variable often ends with a
// newline, which destinations trim before they use it.
func (l *loader) addSecret(s string) {
	for _, v := range []string{s, strings.TrimSpace(s)} {
		if len(v) >= minSecretLen {
			l.secrets[v] = struct{}{}
		}
	}
}

func (l *loader) sortedSecrets() []string {
	if len(l.secrets) == 0 {
		return nil
	}
	out := make([]string, 0, len(l.secrets))
	for s := range l.secrets {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return out
}

type emptyCatalog struct{}

func (emptyCatalog) Source(string) (connector.SourceSpec, bool) { return connector.SourceSpec{}, false }
func (emptyCatalog) Destination(string) (connector.DestinationSpec, bool) {
	return connector.DestinationSpec{}, false
}
func (emptyCatalog) SourceTypes() []string      { return nil }
func (emptyCatalog) DestinationTypes() []string { return nil }
