package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connector"
)

// The fake catalog stands in for internal/registry: a DuckDB-like source, a source
// without settings, a webhook-like and a Postgres-like destination, a CRM-like
// destination with per-sync keys, and "everything", whose config has a field of
// every supported type.

type duckdbConfig struct {
	Path string `yaml:"path" doc:"database file; omit for an in-memory database"`
}

type webhookConfig struct {
	URL           string            `yaml:"url" required:"true" doc:"where events are POSTed"`
	BatchSize     int               `yaml:"batch_size" doc:"events per request"`
	MaxInFlight   int               `yaml:"max_in_flight"`
	Headers       map[string]string `yaml:"headers"`
	SigningSecret string            `yaml:"signing_secret" secret:"true"`
	Timeout       time.Duration     `yaml:"timeout"`
}

func (c *webhookConfig) SetDefaults() {
	c.BatchSize = 100
	c.MaxInFlight = 1
	c.Timeout = 30 * time.Second
}

func (c *webhookConfig) Validate() error {
	var errs []error
	if c.BatchSize < 1 || c.BatchSize > 1000 {
		errs = append(errs, &connector.FieldError{Field: "batch_size", Message: "must be from 1 to 1000"})
	}
	if c.MaxInFlight < 1 {
		errs = append(errs, &connector.FieldError{Field: "max_in_flight", Message: "must be at least 1"})
	}
	if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		// Deliberately careless: a connector's own message may quote a secret.
		errs = append(errs, &connector.FieldError{Field: "url", Message: "must start with http:// or https://, got " + c.URL})
	}
	return errors.Join(errs...)
}

type postgresConfig struct {
	URL   string `yaml:"url" required:"true" secret:"true" doc:"connection URL"`
	Table string `yaml:"table" required:"true"`
}

type crmConfig struct {
	Token string `yaml:"token" required:"true" secret:"true"`
}

type crmSyncConfig struct {
	Object     string `yaml:"object" required:"true" doc:"contacts or companies"`
	IDProperty string `yaml:"id_property"`
}

func (c *crmSyncConfig) SetDefaults() { c.IDProperty = "id" }

// ValidateMode: update needs a real id property, as a destination whose keys
// depend on the mode would say.
func (c *crmSyncConfig) ValidateMode(m connector.Mode) error {
	if c.IDProperty == "none" && m == connector.ModeUpdate {
		return &connector.FieldError{Field: "id_property", Message: "mode update needs an id property"}
	}
	return nil
}

func (c *crmSyncConfig) Validate() error {
	if c.Object != "contacts" && c.Object != "companies" {
		return &connector.FieldError{Field: "object", Message: "use contacts or companies"}
	}
	return nil
}

type nestedConfig struct {
	User  string `yaml:"user" required:"true"`
	Token string `yaml:"token" secret:"true"`
}

type Common struct {
	Region string `yaml:"region"`
}

type everythingConfig struct {
	Common                     // inlined: its keys sit beside the others
	Str      string            `yaml:"str" required:"true" doc:"a required string"`
	Password string            `yaml:"password" secret:"true"`
	Flag     bool              `yaml:"flag"`
	Int      int               `yaml:"int"`
	Int8     int8              `yaml:"int8"`
	Int16    int16             `yaml:"int16"`
	Int32    int32             `yaml:"int32"`
	Int64    int64             `yaml:"int64"`
	Uint     uint              `yaml:"uint"`
	Uint8    uint8             `yaml:"uint8"`
	Uint16   uint16            `yaml:"uint16"`
	Uint32   uint32            `yaml:"uint32"`
	Uint64   uint64            `yaml:"uint64"`
	Float    float64           `yaml:"float"`
	Timeout  time.Duration     `yaml:"timeout"`
	Wait     time.Duration     `yaml:"wait"`
	List     []string          `yaml:"list"`
	Keys     []string          `yaml:"keys" secret:"true"`
	Labels   map[string]string `yaml:"labels"`
	Nested   nestedConfig      `yaml:"nested"`
	Opt      *nestedConfig     `yaml:"opt"`
	PtrStr   *string           `yaml:"ptr_str"`
	PtrWait  *time.Duration    `yaml:"ptr_wait"`
	Skipped  string            `yaml:"-"`
	Untagged string
	Retries  int `yaml:"retries"`
}

func (c *everythingConfig) SetDefaults() {
	c.Retries = 3
	c.Timeout = 10 * time.Second
	c.Skipped = "kept"
}

func (c *everythingConfig) Validate() error {
	var errs []error
	if c.Int < 0 {
		errs = append(errs, &connector.FieldError{Field: "int", Message: "must not be negative: use 0 for no limit"})
	}
	if c.Nested.User == "root" {
		errs = append(errs, &connector.FieldError{Field: "nested.user", Message: "must not be root"})
	}
	if c.Region == "mars" {
		errs = append(errs, &connector.FieldError{Field: "region", Message: "is not served: use eu or us"})
	}
	if c.Flag && c.Password == "" {
		errs = append(errs, &connector.FieldError{Field: "password", Message: "is required when flag is set"})
	}
	if c.Str == "forbidden" {
		errs = append(errs, errors.New("str and flag conflict: unset one"))
	}
	return errors.Join(errs...)
}

type fakeCatalog struct {
	sources      map[string]connector.SourceSpec
	destinations map[string]connector.DestinationSpec
}

var _ Catalog = fakeCatalog{}

func (c fakeCatalog) Source(typ string) (connector.SourceSpec, bool) {
	s, ok := c.sources[typ]
	return s, ok
}

func (c fakeCatalog) Destination(typ string) (connector.DestinationSpec, bool) {
	d, ok := c.destinations[typ]
	return d, ok
}

func (c fakeCatalog) SourceTypes() []string {
	types := make([]string, 0, len(c.sources))
	for t := range c.sources {
		types = append(types, t)
	}
	return types
}

func (c fakeCatalog) DestinationTypes() []string {
	types := make([]string, 0, len(c.destinations))
	for t := range c.destinations {
		types = append(types, t)
	}
	return types
}

var allModes = slices.Clone(connector.Modes)

var testCatalog = fakeCatalog{
	sources: map[string]connector.SourceSpec{
		"duckdb": {Type: "duckdb", NewConfig: func() any { return &duckdbConfig{} }},
		"bare":   {Type: "bare"},
	},
	destinations: map[string]connector.DestinationSpec{
		"webhook":    {Type: "webhook", NewConfig: func() any { return &webhookConfig{} }, Modes: allModes},
		"postgres":   {Type: "postgres", NewConfig: func() any { return &postgresConfig{} }, Modes: allModes},
		"everything": {Type: "everything", NewConfig: func() any { return &everythingConfig{} }, Modes: allModes},
		"crm": {
			Type:          "crm",
			NewConfig:     func() any { return &crmConfig{} },
			NewSyncConfig: func() any { return &crmSyncConfig{} },
			Modes:         []connector.Mode{connector.ModeUpdate, connector.ModeUpsert},
		},
	},
}

// env returns a LookupEnv over a fixed map, so tests never read the real environment.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// testBundle is what most tests need: a project directory and an environment.
type testBundle struct {
	dir string
	env map[string]string
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	return &testBundle{dir: t.TempDir(), env: map[string]string{}}
}

func (b *testBundle) parse(src string) (*Project, error) {
	return Parse("sluice.yaml", b.dir, []byte(src), testCatalog, Options{LookupEnv: env(b.env)})
}

// mustParse parses a project that must be valid.
func (b *testBundle) mustParse(t *testing.T, src string) *Project {
	t.Helper()
	p, err := b.parse(src)
	require.NoError(t, err)
	require.NotNil(t, p)
	return p
}

// parseErrors parses a project that must be invalid and returns its error lines.
func (b *testBundle) parseErrors(t *testing.T, src string) []string {
	t.Helper()
	p, err := b.parse(src)
	require.Nil(t, p)
	var errs *Errors
	require.ErrorAs(t, err, &errs)
	require.NotEmpty(t, *errs)
	lines := make([]string, len(*errs))
	for i, e := range *errs {
		lines[i] = e.Error()
	}
	require.Equal(t, strings.Join(lines, "\n"), err.Error(), "Errors.Error lists the same lines in the same order")
	return lines
}
