// Package registry is the one list of built-in connectors. Adding a destination is
// one line here plus its own package.
package registry

import (
	"slices"

	"github.com/sluicehq/sluice/connector"
	"github.com/sluicehq/sluice/destination/facebook"
	"github.com/sluicehq/sluice/destination/hubspot"
	"github.com/sluicehq/sluice/destination/mixpanel"
	"github.com/sluicehq/sluice/destination/postgres"
	"github.com/sluicehq/sluice/destination/salesforce"
	"github.com/sluicehq/sluice/destination/slack"
	"github.com/sluicehq/sluice/destination/webhook"
	"github.com/sluicehq/sluice/source/duckdb"
)

// Sources lists the built-in source types.
func Sources() []connector.SourceSpec {
	return []connector.SourceSpec{
		duckdb.Spec,
	}
}

// Destinations lists the built-in destination types.
func Destinations() []connector.DestinationSpec {
	return []connector.DestinationSpec{
		webhook.Spec,
		postgres.Spec,
		hubspot.Spec,
		mixpanel.Spec,
		facebook.Spec,
		salesforce.Spec,
		slack.Spec,
	}
}

// Catalog looks connectors up by type; the zero value serves the built-ins.
type Catalog struct{}

func (Catalog) Source(typ string) (connector.SourceSpec, bool) {
	i := slices.IndexFunc(Sources(), func(s connector.SourceSpec) bool { return s.Type == typ })
	if i < 0 {
		return connector.SourceSpec{}, false
	}
	return Sources()[i], true
}

func (Catalog) Destination(typ string) (connector.DestinationSpec, bool) {
	i := slices.IndexFunc(Destinations(), func(s connector.DestinationSpec) bool { return s.Type == typ })
	if i < 0 {
		return connector.DestinationSpec{}, false
	}
	return Destinations()[i], true
}

func (Catalog) SourceTypes() []string {
	var out []string
	for _, s := range Sources() {
		out = append(out, s.Type)
	}
	return out
}

func (Catalog) DestinationTypes() []string {
	var out []string
	for _, s := range Destinations() {
		out = append(out, s.Type)
	}
	return out
}
