// Command jit validates, lists, scaffolds and serves element apps.
//
//	jit serve                      the bundled demo app, with the WeChat simulator
//	jit serve --app myapp          your app, with hot reload
//	jit validate myapp             one line per problem; exit 1 on errors (or --app myapp)
//	jit elements --app myapp       the Meta → Type → instance tree
//	jit new wechat-login MyLogin --appid wx...
//	                               scaffold a WeChat Official Account (公众号) login instance
//	jit new wechat-web-login MyWebLogin --appid wx...
//	                               scaffold a WeChat website-app (网站应用) QR login instance
package main

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/jitwx/jit"
)

//go:embed all:demoapp
var demoFS embed.FS

const usage = `jit: element apps with WeChat login (Official Account, website-app QR)

Usage:
  jit serve    [--app DIR] [--apps-dir DIR] [--addr HOST:PORT] [--admin-addr HOST:PORT] [--db DSN] [--public-url URL]
               [--dev] [--dev-allow-remote] [--no-reload] [--log-format text|json]
               [--read-timeout D] [--write-timeout D] [--idle-timeout D] [--max-header-bytes N]
  jit validate [DIR | --app DIR] [--apps-dir DIR] [--public-url URL]
  jit elements [--app DIR] [--apps-dir DIR]
  jit new wechat-login NAME --appid wx... [--app DIR]       公众号 login, secret $WECHAT_APP_SECRET
  jit new wechat-web-login NAME --appid wx... [--app DIR]   website-app QR login, secret $WECHAT_WEB_APP_SECRET

With no --app, serve runs the bundled demo app in dev mode, on loopback only
(--dev-allow-remote to listen elsewhere).
Parents that app.json extends by appId, [{"appId": "wanyun.BaseApp", "version": "1.0.0"}],
are found in --apps-dir (default $JIT_APPS_DIR) as wanyun/BaseApp/1.0.0/ or wanyun/BaseApp/.
Run "jit COMMAND --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal starts a graceful shutdown; a second one (a
		// second Ctrl-C) kills the process instead of waiting for it.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr)
	case "validate":
		err = validate(ctx, args[1:], stdout, stderr)
	case "elements":
		err = listElements(ctx, args[1:], stdout, stderr)
	case "new":
		err = scaffold(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "jit: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var exit exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &exit):
		return int(exit)
	}
	fmt.Fprintf(stderr, "jit %s: %v\n", args[0], err)
	return 1
}

// exitError ends a command with a code after it has printed its own output.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: jit %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// appsDirEnv names the apps folder when --apps-dir is not given.
const appsDirEnv = "JIT_APPS_DIR"

// appsDirFlag adds --apps-dir to fset.
func appsDirFlag(fset *flag.FlagSet) *string {
	return fset.String("apps-dir", "", "folder of the apps app.json extends by appId, as <org>/<App>/[<version>/] (default $"+appsDirEnv+")")
}

// withAppsDir is the apps folder option: --apps-dir's value, else $JIT_APPS_DIR.
func withAppsDir(flagValue string) jit.Option {
	return jit.WithAppsDir(cmp.Or(flagValue, os.Getenv(appsDirEnv)))
}
