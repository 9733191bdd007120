package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/connector"
)

// CheckSync checks a sync against its model's live columns: the primary key and every
// mapped column must exist. It reads no rows where the source can describe a model
// without running it, and contacts no destination.
func (e *Engine) CheckSync(ctx context.Context, name string) error {
	plan, err := e.resolve(name)
	if err != nil {
		return err
	}
	src, err := e.openSource(ctx, plan)
	if err != nil {
		return err
	}
	defer src.Close()
	m := connector.Model{Name: plan.model.Name, SQL: plan.model.Query, Table: plan.model.Table}
	var cols []connector.Column
	if d, ok := src.(connector.Describer); ok {
		cols, err = d.Describe(ctx, m)
	} else {
		var rows connector.Rows
		if rows, err = src.Query(ctx, m); err == nil {
			cols = rows.Columns()
			rows.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", plan.model.Pos, err)
	}
	if _, err := plan.mapFields(cols); err != nil {
		return err
	}
	return nil
}

// CheckAll runs CheckSync on every sync and returns each problem once (a model shared
// by several syncs is reported once); a problem may span lines (a database's message).
func (e *Engine) CheckAll(ctx context.Context) []string {
	var problems []string
	seen := map[string]bool{}
	for _, name := range e.project.SyncNames() {
		err := e.CheckSync(ctx, name)
		if err == nil {
			continue
		}
		found := []string{err.Error()}
		var list problemList
		if errors.As(err, &list) {
			found = list
		}
		for _, p := range found {
			if !seen[p] {
				seen[p] = true
				problems = append(problems, p)
			}
		}
	}
	return problems
}
