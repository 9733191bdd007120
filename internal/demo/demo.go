// Package demo builds the world `sluice demo` runs in: a sample DuckDB warehouse of a
// SaaS company (accounts, users, product usage), a project file, a local webhook
// receiver standing in for a CRM's ingestion endpoint, and simulators of HubSpot's
// and Mixpanel's APIs.
package demo

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" driver

	"github.com/sluicehq/sluice/destination/webhook/webhooktest"
	"github.com/sluicehq/sluice/simulator/facebook"
	"github.com/sluicehq/sluice/simulator/hubspot"
	"github.com/sluicehq/sluice/simulator/mixpanel"
	"github.com/sluicehq/sluice/simulator/salesforce"
	"github.com/sluicehq/sluice/simulator/slack"
)

// SecretFile is the file beside the project file that holds the webhook signing
// secret; the project file reads it with ${file:…}, so that no secret is in it.
const SecretFile = "webhook-secret"

// The simulated services' credentials, in files likewise.
const (
	HubSpotTokenFile    = "hubspot-token"
	MixpanelSecretFile  = "mixpanel-secret"
	MixpanelTokenFile   = "mixpanel-token"
	SlackTokenFile      = "slack-token"
	MetaTokenFile       = "meta-token"
	SalesforceTokenFile = "salesforce-token"
)

// credentials are the demo's made-up credentials, by the file that holds each.
var credentials = map[string]string{
	HubSpotTokenFile:    "pat-na1-demo-0d5e7c1b",
	MixpanelSecretFile:  "demo-mixpanel-secret",
	MixpanelTokenFile:   "demo0mixpanel0project0token",
	SlackTokenFile:      "xoxb-demo-0000-slack-token",
	MetaTokenFile:       "EAAdemo0meta0system0user0token",
	SalesforceTokenFile: "00Ddemo!salesforce.session.token",
}

// Credentials are the values of the demo's credential files, which nothing may print.
func Credentials() []string {
	out := make([]string, 0, len(credentials))
	for _, v := range credentials {
		out = append(out, v)
	}
	return out
}

// Env is a prepared demo.
type Env struct {
	Dir       string
	Config    string // the project file
	Warehouse string
	Receiver  *webhooktest.Receiver
	// Rejected are keys the receiver refuses, as a CRM refuses bad emails.
	Rejected map[string]string

	HubSpot    *hubspot.Server
	Mixpanel   *mixpanel.Server
	Slack      *slack.Server
	Facebook   *facebook.Server
	Salesforce *salesforce.Server
	servers    []*http.Server
}

// Audience is the demo's Custom Audience.
const Audience = "23851234567890123"

// Setup creates the warehouse and project file in dir and starts the receiver.
func Setup(ctx context.Context, dir string) (*Env, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	env := &Env{Dir: dir, Config: filepath.Join(dir, "sluice.yaml"), Warehouse: filepath.Join(dir, "warehouse.duckdb"), Rejected: map[string]string{}}
	os.Remove(env.Warehouse)
	os.RemoveAll(filepath.Join(dir, ".sluice"))
	if err := env.exec(ctx, warehouseSQL); err != nil {
		return nil, fmt.Errorf("demo: build the warehouse: %w", err)
	}
	secret := "whsec_c2x1aWNlLWRlbW8tc2lnbmluZy1zZWNyZXQ="
	if err := os.WriteFile(filepath.Join(dir, SecretFile), []byte(secret+"\n"), 0o600); err != nil {
		return nil, err
	}
	key, _ := signingKey(secret)
	r, err := webhooktest.Start("127.0.0.1:0", webhooktest.Options{Secret: key})
	if err != nil {
		return nil, fmt.Errorf("demo: start the receiver: %w", err)
	}
	env.Receiver = r
	bad, err := env.queryKeys(ctx, `select user_id from users where email like '%@example.invalid'`)
	if err != nil {
		r.Close()
		return nil, err
	}
	for _, k := range bad {
		msg := "email domain example.invalid does not accept mail: fix the address in the warehouse"
		env.Rejected[k] = msg
		r.Reject(k, msg)
	}
	urls, err := env.startSimulators()
	if err != nil {
		env.Close()
		return nil, err
	}
	pairs := []string{"{{RECEIVER_URL}}", r.URL, "{{WEBHOOK_SECRET_FILE}}", SecretFile,
		"{{HUBSPOT_TOKEN_FILE}}", HubSpotTokenFile, "{{MIXPANEL_SECRET_FILE}}", MixpanelSecretFile,
		"{{MIXPANEL_TOKEN_FILE}}", MixpanelTokenFile, "{{SLACK_TOKEN_FILE}}", SlackTokenFile,
		"{{META_TOKEN_FILE}}", MetaTokenFile, "{{SALESFORCE_TOKEN_FILE}}", SalesforceTokenFile}
	for name, url := range urls {
		pairs = append(pairs, "{{"+name+"_URL}}", url)
	}
	project := strings.NewReplacer(pairs...).Replace(projectYAML)
	if err := os.WriteFile(env.Config, []byte(project), 0o644); err != nil {
		env.Close()
		return nil, err
	}
	return env, nil
}

// startSimulators starts a simulator of each service the demo syncs to, set up as
// the service's admin would have it (a custom property, an audience, a field),
// and returns their URLs by name (HUBSPOT, MIXPANEL, SLACK, META, SALESFORCE).
func (e *Env) startSimulators() (map[string]string, error) {
	for file, value := range credentials {
		if err := os.WriteFile(filepath.Join(e.Dir, file), []byte(value+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	e.HubSpot = hubspot.New(hubspot.Options{Tier: hubspot.TierProfessional, Tokens: []string{credentials[HubSpotTokenFile]}})
	for _, p := range []struct {
		object string
		prop   hubspot.Property
	}{
		{"contacts", hubspot.Property{Name: "plan_tier", Label: "Plan tier", Type: "string", FieldType: "text", GroupName: "contactinformation"}},
		{"companies", hubspot.Property{Name: "sluice_account_id", Label: "Account id", Type: "string", FieldType: "text", GroupName: "companyinformation", HasUniqueValue: true}},
		{"companies", hubspot.Property{Name: "active_users", Label: "Active users", Type: "number", FieldType: "number", GroupName: "companyinformation"}},
	} {
		if err := e.HubSpot.AddProperty(p.object, p.prop); err != nil {
			return nil, err
		}
	}
	e.Mixpanel = mixpanel.New(mixpanel.Options{ProjectID: "2195193", Token: credentials[MixpanelTokenFile],
		ServiceAccounts: map[string]string{"sync-bot": credentials[MixpanelSecretFile]}})
	e.Slack = slack.New(slack.Options{Tokens: []string{credentials[SlackTokenFile]}})
	e.Facebook = facebook.New(facebook.Options{Tokens: []string{credentials[MetaTokenFile]},
		Audiences: map[string]string{Audience: "act_1234567"}})
	e.Salesforce = salesforce.New(salesforce.Options{Tokens: []string{credentials[SalesforceTokenFile]},
		Edition: salesforce.EditionEnterprise, Licenses: 50})
	for _, spec := range []string{"Account.District_Id__c:string:external", "Account.Students_Online__c:double"} {
		object, field, err := salesforce.ParseField(spec)
		if err == nil {
			err = e.Salesforce.AddField(object, field)
		}
		if err != nil {
			return nil, err
		}
	}
	urls := map[string]string{}
	for name, h := range map[string]http.Handler{"HUBSPOT": e.HubSpot, "MIXPANEL": e.Mixpanel, "SLACK": e.Slack, "META": e.Facebook, "SALESFORCE": e.Salesforce} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		e.servers = append(e.servers, srv)
		go srv.Serve(ln)
		urls[name] = "http://" + ln.Addr().String()
	}
	urls["SLACK"] += "/api"
	urls["META"] += "/v21.0"
	return urls, nil
}

// ChangePurchases is a week of purchases: the biggest spender's orders are
// refunded and a customer's large order takes them over $5,000. It returns
// the keys of the customer who left the audience and the one who joined.
func (e *Env) ChangePurchases(ctx context.Context) (left, joined string, err error) {
	top, err := e.queryKeys(ctx, `select id from high_value_customers order by total_spent desc, id limit 1`)
	if err != nil || len(top) == 0 {
		return "", "", fmt.Errorf("demo: no high-value customer: %v", err)
	}
	next, err := e.queryKeys(ctx, `select u.user_id from users u left join purchases p using (user_id)
		group by u.user_id having coalesce(sum(p.amount), 0) between 3000 and 5000 order by u.user_id limit 1`)
	if err != nil || len(next) == 0 {
		return "", "", fmt.Errorf("demo: no customer close to $5,000: %v", err)
	}
	script := fmt.Sprintf(`delete from purchases where user_id = %s;
insert into purchases values (100001, %s, 2500.00, date '2026-11-24');`, top[0], next[0])
	if err := e.exec(ctx, script); err != nil {
		return "", "", fmt.Errorf("demo: change the purchases: %w", err)
	}
	return top[0], next[0], nil
}

// Close stops the receiver and the simulators.
func (e *Env) Close() {
	e.Receiver.Close()
	for _, s := range e.servers {
		s.Close()
	}
}

// ChangeData changes the warehouse the way a day of business does: accounts upgrade,
// users churn and sign up, people use the product, and someone fixes a bad email.
// It returns the key whose email was fixed.
func (e *Env) ChangeData(ctx context.Context) (fixed string, err error) {
	bad, err := e.queryKeys(ctx, `select user_id from users where email like '%@example.invalid' order by user_id limit 1`)
	if err != nil || len(bad) == 0 {
		return "", fmt.Errorf("demo: no bad email to fix: %v", err)
	}
	fixed = bad[0]
	if err := e.exec(ctx, strings.ReplaceAll(changesSQL, "FIXED_USER", fixed)); err != nil {
		return "", fmt.Errorf("demo: change the warehouse: %w", err)
	}
	e.Receiver.Accept(fixed)
	delete(e.Rejected, fixed)
	return fixed, nil
}

func (e *Env) exec(ctx context.Context, script string) error {
	db, err := sql.Open("duckdb", e.Warehouse)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, script)
	return err
}

func (e *Env) queryKeys(ctx context.Context, q string) ([]string, error) {
	db, err := sql.Open("duckdb", e.Warehouse+"?access_mode=read_only")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, strconv.FormatInt(id, 10))
	}
	return out, rows.Err()
}
