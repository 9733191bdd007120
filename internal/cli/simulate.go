package cli

import (
	"context"
	"fmt"
	"net/http"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/simulator/facebook"
	"github.com/sluicehq/sluice/simulator/hubspot"
	"github.com/sluicehq/sluice/simulator/mixpanel"
	"github.com/sluicehq/sluice/simulator/salesforce"
	"github.com/sluicehq/sluice/simulator/simkit"
	"github.com/sluicehq/sluice/simulator/slack"
)

// simulatorFlags are the knobs `sluice simulate` offers.
type simulatorFlags struct {
	faults     simkit.Faults
	tier       string
	tokens     []string
	portalID   int64
	properties []string
	audiences  []string
	fields     []string
	edition    string
	licenses   int
	projectID  string
	token      string
	accounts   []string
}

// simulators are the APIs `sluice simulate` can stand in for.
var simulators = map[string]struct {
	summary string
	start   func(f *simulatorFlags) (handler http.Handler, describe string, faults func(simkit.Faults), err error)
	example func(f *simulatorFlags, url string) string
}{
	"hubspot": {
		summary: "HubSpot CRM v3 objects (batch create/update/upsert/archive, properties, tiers' rate limits)",
		start: func(f *simulatorFlags) (http.Handler, string, func(simkit.Faults), error) {
			opts := hubspot.Options{Tier: hubspot.Tier(f.tier), Tokens: f.tokens, PortalID: f.portalID}
			if err := opts.Validate(); err != nil {
				return nil, "", nil, err
			}
			s := hubspot.New(opts)
			for _, spec := range f.properties {
				object, p, err := hubspot.ParseProperty(spec)
				if err == nil {
					err = s.AddProperty(object, p)
				}
				if err != nil {
					return nil, "", nil, fmt.Errorf("--property %s: %w", spec, err)
				}
			}
			return s, s.Describe(), s.SetFaults, nil
		},
		example: func(f *simulatorFlags, url string) string {
			token := "any-token"
			if len(f.tokens) > 0 {
				token = f.tokens[0]
			}
			return fmt.Sprintf("destinations:\n  crm:\n    type: hubspot\n    access_token: %s\n    tier: %s\n    base_url: %s\n", token, f.tier, url)
		},
	},
	"facebook": {
		summary: "Meta Custom Audiences (/users add and remove, usersreplace sessions, Graph throttling codes)",
		start: func(f *simulatorFlags) (http.Handler, string, func(simkit.Faults), error) {
			// The example audience exists unless others are asked for.
			opts := facebook.Options{Tokens: f.tokens, Audiences: map[string]string{"23851234567890123": "act_1234567"}}
			if len(f.audiences) > 0 {
				opts.Audiences = map[string]string{}
				for _, a := range f.audiences {
					id, account, ok := strings.Cut(a, ":")
					if !ok {
						account = "act_1234567"
					}
					opts.Audiences[id] = account
				}
			}
			if err := opts.Validate(); err != nil {
				return nil, "", nil, err
			}
			s := facebook.New(opts)
			return s, s.Describe(), s.SetFaults, nil
		},
		example: func(f *simulatorFlags, url string) string {
			audience, account := "23851234567890123", "act_1234567"
			if len(f.audiences) > 0 {
				a, acct, ok := strings.Cut(f.audiences[0], ":")
				audience = a
				if ok {
					account = acct
				}
			}
			return fmt.Sprintf("destinations:\n  ads:\n    type: facebook_audience\n    access_token: any-token\n    ad_account_id: %s\n    base_url: %s/v21.0\n# and in a sync: audience_id: \"%s\"\n", account, url, audience)
		},
	},
	"salesforce": {
		summary: "Salesforce REST sObject Collections, Bulk API 2.0 ingest and the daily request allocation",
		start: func(f *simulatorFlags) (http.Handler, string, func(simkit.Faults), error) {
			opts := salesforce.Options{Tokens: f.tokens, Edition: salesforce.Edition(f.edition), Licenses: f.licenses}
			if err := opts.Validate(); err != nil {
				return nil, "", nil, err
			}
			s := salesforce.New(opts)
			for _, spec := range f.fields {
				object, field, err := salesforce.ParseField(spec)
				if err == nil {
					err = s.AddField(object, field)
				}
				if err != nil {
					return nil, "", nil, fmt.Errorf("--field %s: %w", spec, err)
				}
			}
			return s, s.Describe(), s.SetFaults, nil
		},
		example: func(f *simulatorFlags, url string) string {
			return fmt.Sprintf("destinations:\n  sfdc:\n    type: salesforce\n    instance_url: %s\n    access_token: any-token\n    api_version: \"62.0\"\n    edition: %s\n    licenses: %d\n", url, f.edition, f.licenses)
		},
	},
	"slack": {
		summary: "Slack chat.postMessage and incoming webhooks (about 1 message/s per channel, 429 with Retry-After)",
		start: func(f *simulatorFlags) (http.Handler, string, func(simkit.Faults), error) {
			opts := slack.Options{Tokens: f.tokens, AnyChannel: true, AnyWebhook: true}
			if err := opts.Validate(); err != nil {
				return nil, "", nil, err
			}
			s := slack.New(opts)
			return s, s.Describe(), s.SetFaults, nil
		},
		example: func(f *simulatorFlags, url string) string {
			token := "xoxb-any-token"
			if len(f.tokens) > 0 {
				token = f.tokens[0]
			}
			return fmt.Sprintf("destinations:\n  alerts:\n    type: slack\n    bot_token: %s\n    base_url: %s/api\n  # or an incoming webhook: webhook_url: %s/services/T000/B000/any\n", token, url, url)
		},
	},
	"mixpanel": {
		summary: "Mixpanel ingestion (/import events, /engage profiles, 2 GB/min)",
		start: func(f *simulatorFlags) (http.Handler, string, func(simkit.Faults), error) {
			opts := mixpanel.Options{ProjectID: f.projectID, Token: f.token}
			// Without credentials given, any are accepted, so that a project file's
			// own (project_id, service account, token) work as they are.
			opts.AnyCredentials = f.projectID == "" && f.token == "" && len(f.accounts) == 0
			if len(f.accounts) > 0 {
				opts.ServiceAccounts = map[string]string{}
				for _, a := range f.accounts {
					user, secret, ok := strings.Cut(a, ":")
					if !ok || user == "" {
						return nil, "", nil, fmt.Errorf("--service-account %q: write username:secret", a)
					}
					opts.ServiceAccounts[user] = secret
				}
			}
			s := mixpanel.New(opts)
			return s, s.Describe(), s.SetFaults, nil
		},
		example: func(f *simulatorFlags, url string) string {
			if f.projectID == "" && f.token == "" && len(f.accounts) == 0 {
				return "destinations:\n  product:\n    type: mixpanel\n    project_id: \"2195193\"            # any project, account and token are accepted\n    service_account: {username: sync-bot, secret: any-secret}\n    project_token: any-token\n    base_url: " + url + "\n"
			}
			opts := mixpanel.Options{ProjectID: f.projectID, Token: f.token}.WithDefaults()
			user, secret := "sim-sa", "sim-secret"
			if len(f.accounts) > 0 {
				user, secret, _ = strings.Cut(f.accounts[0], ":")
			}
			return fmt.Sprintf("destinations:\n  product:\n    type: mixpanel\n    project_id: %q\n    service_account: {username: %s, secret: %s}\n    project_token: %s\n    base_url: %s\n",
				opts.ProjectID, user, secret, opts.Token, url)
		},
	},
}

func simulatorNames() []string {
	var out []string
	for name := range simulators {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func (a *app) simulateCommand() *cobra.Command {
	var addr string
	f := &simulatorFlags{}
	var list []string
	for _, name := range simulatorNames() {
		list = append(list, "  "+name+": "+simulators[name].summary)
	}
	cmd := &cobra.Command{
		Use:   "simulate <api>",
		Short: "Run an API simulator (HubSpot, Mixpanel) locally, to try Sluice without an account",
		Long: `Runs a simulator of a SaaS API that behaves like the real one as documented: the same
paths, authentication, payload validation, batch limits, rate limits with the API's
headers and 429 bodies, partial failures and daily quota. Point a destination's
base_url at it. It keeps what it is sent until it stops (Ctrl-C).

` + strings.Join(list, "\n"),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sim, ok := simulators[args[0]]
			if !ok {
				return usageError(fmt.Errorf("no simulator named %q: the simulators are %s", args[0], strings.Join(simulatorNames(), ", ")))
			}
			h, describe, setFaults, err := sim.start(f)
			if err != nil {
				return usageError(err)
			}
			setFaults(f.faults)
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return a.serveSimulator(ctx, addr, h, describe, func(url string) string { return sim.example(f, url) })
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "address to listen on (port 0 picks a free one)")
	cmd.Flags().DurationVar(&f.faults.Latency, "latency", 0, "added to every answer, e.g. 50ms")
	cmd.Flags().DurationVar(&f.faults.Jitter, "jitter", 0, "random extra latency up to this")
	cmd.Flags().Float64Var(&f.faults.ErrorRate, "error-rate", 0, "fraction of requests answered with a 5xx (0 to 1)")
	cmd.Flags().IntVar(&f.faults.Force429, "force-429", 0, "answer the first N requests with the API's rate-limit error")
	cmd.Flags().IntVar(&f.faults.SlowEvery, "slow-every", 0, "delay every Nth answer by --slow-delay")
	cmd.Flags().DurationVar(&f.faults.SlowDelay, "slow-delay", 2*time.Second, "delay of a slow answer")
	cmd.Flags().StringVar(&f.tier, "tier", "professional", "hubspot: account tier (free, starter, professional, enterprise)")
	cmd.Flags().StringArrayVar(&f.tokens, "token", nil, "hubspot, slack: an accepted token (repeatable; default any)")
	cmd.Flags().Int64Var(&f.portalID, "portal-id", 0, "hubspot: the account's portal id")
	cmd.Flags().StringArrayVar(&f.properties, "property", nil, "hubspot: add a custom property, e.g. contacts.plan_tier or contacts.plan_tier:enumeration=free|pro (repeatable)")
	cmd.Flags().StringArrayVar(&f.fields, "field", nil, "salesforce: add a field, e.g. Account.District_Id__c:string:external (repeatable)")
	cmd.Flags().StringVar(&f.edition, "edition", "enterprise", "salesforce: the org's edition (developer, professional, enterprise, unlimited, performance)")
	cmd.Flags().IntVar(&f.licenses, "licenses", 50, "salesforce: user licences, which raise the daily request allocation")
	cmd.Flags().StringArrayVar(&f.audiences, "audience", nil, "facebook: an audience to create, id or id:act_account (repeatable; default 23851234567890123 in act_1234567)")
	cmd.Flags().StringVar(&f.projectID, "project-id", "", "mixpanel: the project's id (default: any credentials are accepted)")
	cmd.Flags().StringVar(&f.token, "project-token", "", "mixpanel: the project's token (default: any credentials are accepted)")
	cmd.Flags().StringArrayVar(&f.accounts, "service-account", nil, "mixpanel: username:secret of a service account, repeatable (default: any credentials are accepted)")
	return cmd
}

func (a *app) serveSimulator(ctx context.Context, addr string, h http.Handler, describe string, example func(string) string) error {
	err := simkit.Serve(ctx, addr, h, func(bound string) {
		url := "http://" + bound
		fmt.Fprintf(a.stdout, "%s\nlistening on %s (Ctrl-C stops it)\n\nUse it from a project file:\n\n%s\n", describe, url, example(url))
	})
	if err != nil && ctx.Err() == nil {
		return &exitError{code: exitRunFail, err: err}
	}
	return nil
}
