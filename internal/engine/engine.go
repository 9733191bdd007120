// Package engine runs syncs: it reads a model, diffs it against the sync's baseline,
// sends the changes the mode asks for through the destination in batches, and records
// every row's outcome while advancing the baseline only for acknowledged rows. A run's
// whole path is in this package: scan.go (read, map, hash, diff), send.go (batch,
// pace, retry), commit.go (baseline and run log), run.go (the run's life).
package engine

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/connector/template"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/record"
)

// Catalog finds connector specs by type; internal/registry provides it.
type Catalog interface {
	Source(typ string) (connector.SourceSpec, bool)
	Destination(typ string) (connector.DestinationSpec, bool)
}

// Engine runs the syncs of one project against one store.
type Engine struct {
	project *config.Project
	catalog Catalog
	store   store.Store
	logger  *slog.Logger
}

// Params configure an Engine.
type Params struct {
	Project *config.Project
	Catalog Catalog
	Store   store.Store
	Logger  *slog.Logger // nil discards
}

// New returns an engine.
func New(p Params) *Engine {
	logger := p.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{project: p.Project, catalog: p.Catalog, store: p.Store, logger: logger}
}

// Log attribute keys.
const (
	logSync = "sync"
	logRun  = "run"
)

// syncPlan is a sync resolved against the project and the catalog.
type syncPlan struct {
	sync     *config.Sync
	model    *config.Model
	source   *config.Source
	dest     *config.Destination
	srcSpec  connector.SourceSpec
	destSpec connector.DestinationSpec
}

func (e *Engine) resolve(name string) (*syncPlan, error) {
	s, err := e.project.Sync(name)
	if err != nil {
		return nil, err
	}
	p := &syncPlan{sync: s, model: e.project.Models[s.Model], dest: e.project.Destinations[s.Destination]}
	p.source = e.project.Sources[p.model.Source]
	var found bool
	if p.srcSpec, found = e.catalog.Source(p.source.Type); !found {
		return nil, fmt.Errorf("source %s: unknown type %q", p.source.Name, p.source.Type)
	}
	if p.destSpec, found = e.catalog.Destination(p.dest.Type); !found {
		return nil, fmt.Errorf("destination %s: unknown type %q", p.dest.Name, p.dest.Type)
	}
	return p, nil
}

// fieldMap is how a model's columns become a destination record.
type fieldMap struct {
	keyIndex int   // column index of the primary key
	columns  []int // column index of each field; -1 for a template field
	// templates render the fields whose column is -1 (from_template) from the
	// row, seen by its column names (colNames).
	templates []*template.Template
	colNames  []string
	names     []string // destination field names
	keyField  string   // the destination field the key maps to
	// byKey are the fields carrying columns the sync's configuration names (see
	// connector.ColumnUser), by configuration key.
	byKey map[string]int
}

// mapFields checks the model's columns against the sync's mappings, reporting every
// problem with the position of the key that causes it.
func (p *syncPlan) mapFields(cols []connector.Column) (*fieldMap, error) {
	index := make(map[string]int, len(cols))
	var names []string
	var problems []string
	for i, c := range cols {
		if _, dup := index[c.Name]; dup {
			problems = append(problems, fmt.Sprintf("%s: models.%s: the query returns two columns named %q: alias one of them",
				p.model.Pos, p.model.Name, c.Name))
			continue
		}
		index[c.Name] = i
		names = append(names, c.Name)
	}
	columns := strings.Join(names, ", ")
	fm := &fieldMap{keyField: p.model.PrimaryKey}
	ki, ok := index[p.model.PrimaryKey]
	if !ok {
		problems = append(problems, fmt.Sprintf("%s: models.%s.primary_key: model %s has no column %q, its primary_key: the columns are %s",
			p.model.PrimaryKeyPos, p.model.Name, p.model.Name, p.model.PrimaryKey, columns))
	}
	fm.keyIndex = ki
	if p.sync.Mappings == nil {
		fm.columns = make([]int, len(names))
		for i := range names {
			fm.columns[i] = index[names[i]]
		}
		fm.names = names
	}
	fm.colNames = names
	for i, m := range p.sync.Mappings {
		if m.Template != nil {
			// A template names only columns the model has: a misspelt one is a
			// configuration problem, found before any row is read.
			for _, c := range m.Template.Columns() {
				if _, ok := index[c]; !ok {
					problems = append(problems, fmt.Sprintf("%s: syncs.%s.mappings[%d].from_template: reads row.%s, which model %s does not return: the columns are %s",
						m.Pos, p.sync.Name, i, c, p.model.Name, columns))
				}
			}
			if fm.templates == nil {
				fm.templates = make([]*template.Template, len(fm.columns), len(p.sync.Mappings))
			}
			fm.columns = append(fm.columns, -1)
			fm.names = append(fm.names, m.To)
			fm.templates = append(fm.templates, m.Template)
			continue
		}
		ci, ok := index[m.From]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: syncs.%s.mappings[%d].from: syncs.%s maps column %q, which model %s does not return: the columns are %s",
				m.Pos, p.sync.Name, i, p.sync.Name, m.From, p.model.Name, columns))
			continue
		}
		fm.columns = append(fm.columns, ci)
		fm.names = append(fm.names, m.To)
		if fm.templates != nil {
			fm.templates = append(fm.templates, nil)
		}
		if m.From == p.model.PrimaryKey {
			fm.keyField = m.To
		}
	}
	if cu, ok := p.sync.SyncConfig.(connector.ColumnUser); ok {
		for _, k := range cu.ColumnKeys() {
			if k.Column == "" {
				continue
			}
			ci, ok := index[k.Column]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: syncs.%s.%s: names column %q, which model %s does not return: the columns are %s",
					p.sync.Pos, p.sync.Name, k.Key, k.Column, p.model.Name, columns))
				continue
			}
			if fm.byKey == nil {
				fm.byKey = map[string]int{}
			}
			fm.byKey[k.Key] = len(fm.names)
			fm.columns = append(fm.columns, ci)
			fm.names = append(fm.names, k.Column)
			if fm.templates != nil {
				fm.templates = append(fm.templates, nil)
			}
		}
	}
	if len(problems) > 0 {
		return nil, problemList(problems)
	}
	return fm, nil
}

// appendFields appends a row's field values to dst: each mapped column, and each
// template rendered against the row.
func (fm *fieldMap) appendFields(dst []record.Value, row record.Row) ([]record.Value, error) {
	if fm.templates == nil {
		for _, c := range fm.columns {
			dst = append(dst, row[c])
		}
		return dst, nil
	}
	var bound map[string]any
	for i, c := range fm.columns {
		if c >= 0 {
			dst = append(dst, row[c])
			continue
		}
		if bound == nil {
			bound = template.Row(fm.colNames, row)
		}
		text, err := fm.templates[i].Render(bound)
		if err != nil {
			return dst, fmt.Errorf("field %s: %w", fm.names[i], err)
		}
		dst = append(dst, text)
	}
	return dst, nil
}

// problemList is several configuration problems, one per line.
type problemList []string

func (p problemList) Error() string { return strings.Join(p, "\n") }

func (p *syncPlan) syncInfo(fm *fieldMap) connector.SyncInfo {
	return connector.SyncInfo{
		Name:         p.sync.Name,
		Mode:         p.sync.Mode,
		KeyColumn:    p.model.PrimaryKey,
		KeyField:     fm.keyField,
		Fields:       slices.Clone(fm.names),
		ColumnFields: maps.Clone(fm.byKey),
	}
}

func (e *Engine) openSource(ctx context.Context, p *syncPlan) (connector.Source, error) {
	src, err := p.srcSpec.Open(ctx, connector.SourceParams{
		Name: p.source.Name, Config: p.source.Config, BaseDir: e.project.Dir,
		Logger: e.logger.With("source", p.source.Name),
	})
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", p.source.Name, err)
	}
	return src, nil
}

func (e *Engine) openDestination(ctx context.Context, p *syncPlan, fm *fieldMap) (connector.Destination, error) {
	d, err := p.destSpec.Open(ctx, connector.DestinationParams{
		Name: p.dest.Name, Config: p.dest.Config, SyncConfig: p.sync.SyncConfig,
		Sync: p.syncInfo(fm), Logger: e.logger.With("destination", p.dest.Name),
	})
	if err != nil {
		return nil, fmt.Errorf("open destination %s: %s", p.dest.Name, e.project.Redact(err.Error()))
	}
	if c, ok := d.(connector.Checker); ok {
		if err := c.Check(ctx); err != nil {
			d.Close()
			return nil, fmt.Errorf("destination %s: %s", p.dest.Name, e.project.Redact(err.Error()))
		}
	}
	return d, nil
}

func (e *Engine) query(ctx context.Context, src connector.Source, p *syncPlan) (connector.Rows, error) {
	rows, err := src.Query(ctx, connector.Model{Name: p.model.Name, SQL: p.model.Query, Table: p.model.Table})
	if err != nil {
		return nil, fmt.Errorf("%w [model %s is defined at %s]", err, p.model.Name, p.model.Pos)
	}
	return rows, nil
}
