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
	"github.com/sluicehq/sluice/simulator/hubspot"
	"github.com/sluicehq/sluice/simulator/mixpanel"
)

// SecretFile is the file beside the project file that holds the webhook signing
// secret; the project file reads it with ${file:…}, so that no secret is in it.
const SecretFile = "webhook-secret"

// The HubSpot token and Mixpanel service-account secret, in files likewise.
const (
	HubSpotTokenFile   = "hubspot-token"
	MixpanelSecretFile = "mixpanel-secret"
	MixpanelTokenFile  = "mixpanel-token"
)

// Env is a prepared demo.
type Env struct {
	Dir       string
	Config    string // the project file
	Warehouse string
	Receiver  *webhooktest.Receiver
	// Rejected are keys the receiver refuses, as a CRM refuses bad emails.
	Rejected map[string]string

	HubSpot  *hubspot.Server
	Mixpanel *mixpanel.Server
	servers  []*http.Server
}

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
	hsURL, mpURL, err := env.startSimulators()
	if err != nil {
		env.Close()
		return nil, err
	}
	project := fmt.Sprintf(projectYAML, r.URL, SecretFile, HubSpotTokenFile, hsURL, MixpanelSecretFile, MixpanelTokenFile, mpURL)
	if err := os.WriteFile(env.Config, []byte(project), 0o644); err != nil {
		env.Close()
		return nil, err
	}
	return env, nil
}

// startSimulators starts the HubSpot and Mixpanel simulators with the demo's
// credentials and returns their URLs.
func (e *Env) startSimulators() (hubspotURL, mixpanelURL string, err error) {
	const token, secret, projectToken = "pat-na1-demo-0d5e7c1b", "demo-mixpanel-secret", "demo0mixpanel0project0token"
	for file, value := range map[string]string{HubSpotTokenFile: token, MixpanelSecretFile: secret, MixpanelTokenFile: projectToken} {
		if err := os.WriteFile(filepath.Join(e.Dir, file), []byte(value+"\n"), 0o600); err != nil {
			return "", "", err
		}
	}
	e.HubSpot = hubspot.New(hubspot.Options{Tier: hubspot.TierProfessional, Tokens: []string{token}})
	// The property a HubSpot admin creates for the sync's plan column.
	if err := e.HubSpot.AddProperty("contacts", hubspot.Property{Name: "plan_tier", Label: "Plan tier", Type: "string", FieldType: "text", GroupName: "contactinformation"}); err != nil {
		return "", "", err
	}
	e.Mixpanel = mixpanel.New(mixpanel.Options{ProjectID: "2195193", Token: projectToken, ServiceAccounts: map[string]string{"sync-bot": secret}})
	serve := func(h http.Handler) (string, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		e.servers = append(e.servers, srv)
		go srv.Serve(ln)
		return "http://" + ln.Addr().String(), nil
	}
	if hubspotURL, err = serve(e.HubSpot); err != nil {
		return "", "", err
	}
	if mixpanelURL, err = serve(e.Mixpanel); err != nil {
		return "", "", err
	}
	return hubspotURL, mixpanelURL, nil
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
