// Package cli is the sluice command line: it wires the project file, the state store
// and the engine together and prints what they return, for people (text, progress
// bars) or for programs (--json).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/engine"
	"github.com/sluicehq/sluice/internal/registry"
	"github.com/sluicehq/sluice/internal/store/localstore"
)

// Exit codes.
const (
	exitOK      = 0
	exitRunFail = 1 // a run ended partial or failed, a test row was rejected
	exitUsage   = 2 // bad flags, a project file with problems, an unknown sync
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// silentExit ends the command with a code and no further message.
func silentExit(code int) error { return &exitError{code: code} }

// usageError ends the command with exit code 2 and a message.
func usageError(err error) error { return &exitError{code: exitUsage, err: err} }

// app is the state shared by the commands.
type app struct {
	stdout, stderr io.Writer
	configPath     string
	stateDir       string
	verbose        int
	jsonOut        bool
}

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	// Commands run from the project file's directory (see loadProject); put the
	// caller's back afterwards, for tests that call Main in-process.
	if wd, err := os.Getwd(); err == nil {
		defer os.Chdir(wd)
	}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// The first signal asks the run to stop and record what it did; restoring
		// the default handling lets a second one end the process at once.
		<-ctx.Done()
		stop()
	}()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(a.stderr, "error:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(a.stderr, "error:", err)
	return exitUsage
}

// redactingWriter removes the project's secrets from everything the command prints.
type redactingWriter struct {
	w       io.Writer
	project *config.Project
}

func (r redactingWriter) Write(p []byte) (int, error) {
	if _, err := r.w.Write(r.project.RedactBytes(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Fd lets the progress bar see whether the real writer is a terminal.
func (r redactingWriter) Fd() uintptr {
	if f, ok := r.w.(*os.File); ok {
		return f.Fd()
	}
	return ^uintptr(0)
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "Sluice keeps the tools your teams work in in sync with your warehouse",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&a.configPath, "config", "c", "sluice.yaml", "project file")
	root.PersistentFlags().StringVar(&a.stateDir, "state-dir", "", "state directory (default: state.dir of the project, or .sluice beside it)")
	root.PersistentFlags().CountVarP(&a.verbose, "verbose", "v", "log progress to stderr (-vv for debug)")
	root.AddCommand(
		a.validateCommand(),
		a.planCommand(),
		a.syncCommand(),
		a.runsCommand(),
		a.runCommand(),
		a.testRowCommand(),
		a.demoCommand(),
		a.benchCommand(),
		a.simulateCommand(),
	)
	return root
}

// loadProject reads and validates the project file; problems exit with code 2.
// loadProject reads and validates the project file. From then on everything the
// command prints has the project's secrets removed, and the command runs from the
// project file's directory, so that relative paths in models (read_csv('users.csv'))
// mean the same wherever sluice is started.
func (a *app) loadProject() (*config.Project, error) {
	return a.loadProjectWith(config.Options{})
}

// loadProjectWith is loadProject with loader options.
func (a *app) loadProjectWith(opts config.Options) (*config.Project, error) {
	if _, err := os.Stat(a.configPath); errors.Is(err, os.ErrNotExist) {
		return nil, usageError(fmt.Errorf("no project file at %s: create one (see docs/configuration.md), pass --config, or try `sluice demo`", a.configPath))
	}
	p, err := config.Load(a.configPath, registry.Catalog{}, opts)
	if err != nil {
		var errs config.Errors
		if errors.As(err, &errs) {
			return nil, usageError(fmt.Errorf("%s has %d problem(s):\n%s", a.configPath, len(errs), err))
		}
		return nil, usageError(err)
	}
	if a.stateDir != "" {
		abs, err := filepath.Abs(a.stateDir)
		if err != nil {
			return nil, usageError(err)
		}
		p.StateDir = abs
	}
	if err := os.Chdir(p.Dir); err != nil {
		return nil, usageError(fmt.Errorf("project directory %s: %w", p.Dir, err))
	}
	a.stdout = redactingWriter{w: a.stdout, project: p}
	a.stderr = redactingWriter{w: a.stderr, project: p}
	return p, nil
}

// requireSync ends the command with a usage error when the project has no such sync.
func (a *app) requireSync(p *config.Project, name string) error {
	if _, err := p.Sync(name); err != nil {
		return usageError(err)
	}
	return nil
}

// session is a loaded project with its store and engine.
type session struct {
	project *config.Project
	store   *localstore.Store
	engine  *engine.Engine
}

func (a *app) open(ctx context.Context) (*session, error) {
	return a.openWith(ctx, config.Options{})
}

// openForReading opens a project for commands that only read the run log: the
// secrets its references name need not be set.
func (a *app) openForReading(ctx context.Context) (*session, error) {
	return a.openWith(ctx, config.Options{AllowUnresolved: true})
}

func (a *app) openWith(ctx context.Context, opts config.Options) (*session, error) {
	p, err := a.loadProjectWith(opts)
	if err != nil {
		return nil, err
	}
	st, err := localstore.Open(ctx, p.StateDir)
	if err != nil {
		return nil, &exitError{code: exitRunFail, err: err}
	}
	return &session{
		project: p,
		store:   st,
		engine:  engine.New(engine.Params{Project: p, Catalog: registry.Catalog{}, Store: st, Logger: a.logger(p)}),
	}, nil
}

func (s *session) close() { s.store.Close() }

func (a *app) logger(p *config.Project) *slog.Logger {
	level := slog.LevelWarn
	switch {
	case a.verbose >= 2:
		level = slog.LevelDebug
	case a.verbose == 1:
		level = slog.LevelInfo
	}
	h := slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level})
	return slog.New(&redactingHandler{Handler: h, redact: p.Redact})
}

// redactingHandler removes secrets from every log message and string attribute.
type redactingHandler struct {
	slog.Handler
	redact func(string) string
}

func (h *redactingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.redact(r.Message), r.PC)
	r.Attrs(func(at slog.Attr) bool {
		out.AddAttrs(h.redactAttr(at))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h *redactingHandler) redactAttr(at slog.Attr) slog.Attr {
	switch at.Value.Kind() {
	case slog.KindString:
		return slog.String(at.Key, h.redact(at.Value.String()))
	case slog.KindAny:
		return slog.String(at.Key, h.redact(fmt.Sprint(at.Value.Any())))
	}
	return at
}

func (h *redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, at := range attrs {
		red[i] = h.redactAttr(at)
	}
	return &redactingHandler{Handler: h.Handler.WithAttrs(red), redact: h.redact}
}

func (h *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{Handler: h.Handler.WithGroup(name), redact: h.redact}
}
