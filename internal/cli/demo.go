package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/internal/demo"
	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/store"
)

func (a *app) demoCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run Sluice end to end on a sample warehouse and a local receiver: nothing to set up",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runDemo(cmd.Context(), dir)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "sluice-demo", "directory for the demo's warehouse, project file and state (recreated)")
	return cmd
}

func (a *app) runDemo(ctx context.Context, dir string) error {
	w := a.stdout
	abs, err := filepath.Abs(dir)
	if err != nil {
		return usageError(err)
	}
	step := func(n int, title string) { fmt.Fprintf(w, "\n%d. %s\n", n, title) }
	fmt.Fprintf(w, "Sluice demo, working in %s\n", abs)

	step(1, "Build a sample warehouse and start a receiver")
	env, err := demo.Setup(ctx, abs)
	if err != nil {
		return &exitError{code: exitRunFail, err: err}
	}
	defer env.Close()
	fmt.Fprintf(w, "   DuckDB warehouse %s: 300 accounts, 5,001 users (one without an id), 60,000 product events.\n", rel(abs, env.Warehouse))
	fmt.Fprintf(w, "   Model user_profiles: a row per user with company, plan, account MRR and 30-day activity.\n")
	fmt.Fprintf(w, "   Webhook receiver at %s stands in for a CRM: it verifies signatures and\n", env.Receiver.URL)
	fmt.Fprintf(w, "   refuses the %d users whose email is @example.invalid.\n", len(env.Rejected))
	fmt.Fprintf(w, "   Project file %s syncs them in mirror mode.\n", rel(abs, env.Config))

	// What to type afterwards, from where the user is now (opening moves into the project).
	cfgFlag := ""
	if r := rel(mustCwd(), env.Config); r != "sluice.yaml" {
		cfgFlag = " --config " + r
	}
	a.configPath = env.Config
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	st, eng := s.store, s.engine
	w = a.stdout // from here on through the project's redaction
	const syncName = "profiles_to_crm"

	step(2, "First sync: every profile is new")
	run1, err := eng.Run(ctx, engine.RunParams{Sync: syncName})
	if err != nil {
		return &exitError{code: exitRunFail, err: err}
	}
	printRunSummary(indent(w), run1)

	step(3, "A day of business in the warehouse")
	fixed, err := env.ChangeData(ctx)
	if err != nil {
		return &exitError{code: exitRunFail, err: err}
	}
	fmt.Fprintf(w, "   3 accounts upgrade to enterprise, 20 users leave, 30 sign up, 300 reports are viewed,\n")
	fmt.Fprintf(w, "   and user %s's email is fixed (the receiver accepts it now).\n", fixed)
	plan, err := eng.Plan(ctx, engine.PlanParams{Sync: syncName, Samples: 1})
	if err != nil {
		return &exitError{code: exitRunFail, err: err}
	}
	fmt.Fprintf(w, "   `sluice plan %s` says the next run sends %s added, %s changed, %s removed\n",
		syncName, num(plan.Planned.Added), num(plan.Planned.Changed), num(plan.Planned.Removed))
	fmt.Fprintf(w, "   (the rows refused last time are retried as added; unmapped columns such as seats do not count).\n")

	step(4, "Second sync: only what changed is sent")
	run2, err := eng.Run(ctx, engine.RunParams{Sync: syncName})
	if err != nil {
		return &exitError{code: exitRunFail, err: err}
	}
	printRunSummary(indent(w), run2)
	fmt.Fprintf(w, "   The receiver now holds %s profiles, %s requests received.\n", num(int64(len(env.Receiver.Contents()))), num(env.Receiver.Requests()))

	step(5, "The debugger: why was a row refused?")
	var failedKey string
	for k := range env.Rejected {
		if failedKey == "" || k < failedKey {
			failedKey = k
		}
	}
	shownRun := run2.ID
	rows, err := st.RowOutcomes(ctx, shownRun, store.RowFilter{Key: failedKey})
	if err != nil {
		return &exitError{code: exitRunFail, err: err}
	}
	if len(rows) == 0 {
		shownRun = run1.ID
		rows, err = st.RowOutcomes(ctx, shownRun, store.RowFilter{Key: failedKey})
		if err != nil {
			return &exitError{code: exitRunFail, err: err}
		}
	}
	batches := map[int]*store.Batch{}
	for _, r := range rows {
		if r.BatchSeq > 0 {
			if b, err := st.GetBatch(ctx, shownRun, r.BatchSeq); err == nil {
				batches[r.BatchSeq] = b
			}
		}
	}
	fmt.Fprintf(w, "   $ sluice run show %s --key %s\n", shownRun, failedKey)
	printRows(indent(w), rows, batches, failedKey, false)

	step(6, "What teams do with it: the same warehouse into the tools they work in")
	fmt.Fprintf(w, "   Each service is a local simulator of its API (sluice simulate <service>): the same paths,\n")
	fmt.Fprintf(w, "   batch limits, rate limits, errors and partial failures as the real one.\n")
	useCases := []struct {
		title string
		syncs []string
	}{
		{"Product usage of accounts -> HubSpot contacts and companies, for sales and lifecycle emails", []string{"users_to_hubspot", "accounts_to_hubspot"}},
		{"Accounts paying for unused seats -> Slack #general, one message each", []string{"at_risk_to_slack"}},
		{"Customers who spent over $5,000 -> a Facebook Custom Audience for lookalikes", []string{"big_spenders_audience"}},
		{"Students online now per district -> Salesforce accounts, for sales reps", []string{"districts_to_salesforce"}},
		{"Product events and user profiles -> Mixpanel", []string{"events_to_mixpanel", "users_to_mixpanel"}},
	}
	for _, uc := range useCases {
		fmt.Fprintf(w, "   %s\n", uc.title)
		for _, name := range uc.syncs {
			run, err := eng.Run(ctx, engine.RunParams{Sync: name})
			if err != nil {
				return &exitError{code: exitRunFail, err: err}
			}
			fmt.Fprintf(w, "     %-24s %s\n", name, speedLine(run))
		}
	}
	left, joined, err := env.ChangePurchases(ctx)
	if err != nil {
		return &exitError{code: exitRunFail, err: err}
	}
	fmt.Fprintf(w, "   A week later customer %s's orders are refunded and customer %s passes $5,000;\n", left, joined)
	fmt.Fprintf(w, "   mirror mode keeps the audience exact:\n")
	run, err := eng.Run(ctx, engine.RunParams{Sync: "big_spenders_audience"})
	if err != nil {
		return &exitError{code: exitRunFail, err: err}
	}
	fmt.Fprintf(w, "     %-24s %s added, %s removed: %s\n", "big_spenders_audience", num(run.Stats.Planned.Added), num(run.Stats.Planned.Removed), speedLine(run))
	fmt.Fprintf(w, "   Now HubSpot holds %s contacts and %s companies; Slack #general %s messages; the audience\n",
		num(int64(len(env.HubSpot.Records("contacts")))), num(int64(len(env.HubSpot.Records("companies")))), num(int64(len(env.Slack.Messages("C0123ABCD")))))
	fmt.Fprintf(w, "   %s members; Salesforce %s accounts; Mixpanel %s events and %s profiles.\n",
		num(int64(env.Facebook.MemberCount(demo.Audience))), num(int64(len(env.Salesforce.Records("Account")))),
		num(int64(env.Mixpanel.EventCount())), num(int64(env.Mixpanel.ProfileCount())))

	fmt.Fprintf(w, "\nExplore what the demo left behind (the receiver stops when the demo exits;\n")
	fmt.Fprintf(w, "build the command first with `go build -o sluice ./cmd/sluice` if you ran the demo with go run):\n")
	fmt.Fprintf(w, "   sluice runs%s\n", cfgFlag)
	fmt.Fprintf(w, "   sluice run show %s --failed%s\n", run2.ID, cfgFlag)
	fmt.Fprintf(w, "   sluice plan %s%s\n", syncName, cfgFlag)
	return nil
}

func rel(base, path string) string {
	if r, err := filepath.Rel(base, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

func mustCwd() string {
	wd, _ := filepath.Abs(".")
	return wd
}

// indent prefixes every line written through it with three spaces.
func indent(w io.Writer) io.Writer { return &indenter{w: w, start: true} }

type indenter struct {
	w     io.Writer
	start bool
}

func (d *indenter) Write(p []byte) (int, error) {
	var out []byte
	for _, c := range p {
		if d.start {
			out = append(out, "   "...)
			d.start = false
		}
		out = append(out, c)
		if c == '\n' {
			d.start = true
		}
	}
	_, err := d.w.Write(out)
	return len(p), err
}
