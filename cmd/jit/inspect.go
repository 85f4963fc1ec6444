package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/elements"
	"github.com/jitwx/jit/runtime"
)

func openForInspection(ctx context.Context, dir, appsDir string) (*jit.App, error) {
	// Problems are printed by the command; the load's own log would repeat them.
	quiet := slog.New(slog.DiscardHandler)
	return jit.Open(ctx, dir, jit.WithoutReload(), jit.WithoutDatabase(), jit.WithLogger(quiet), withAppsDir(appsDir))
}

func validate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", "validate [DIR | --app DIR] [--apps-dir DIR] [--public-url URL]\n\n"+validateHelp, stderr)
	dir := fs.String("app", ".", "app folder (or give it as the argument)")
	appsDir := appsDirFlag(fs)
	public := fs.String("public-url", "", "the URL the app will be served at, checked against what WeChat accepts")
	// Accept DIR before or after the flags.
	var pos string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		pos, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if pos == "" && fs.NArg() == 1 {
		pos = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if pos != "" {
		appSet := false
		fs.Visit(func(f *flag.Flag) { appSet = appSet || f.Name == "app" })
		if appSet && filepath.Clean(*dir) != filepath.Clean(pos) {
			return fmt.Errorf("two app folders: %s and --app %s", pos, *dir)
		}
		*dir = pos
	}
	app, err := openForInspection(ctx, *dir, *appsDir)
	if err != nil {
		return err
	}
	defer app.Close()
	if !hasAppElements(app.Snapshot()) {
		fmt.Fprintf(stderr, "%s holds no elements (no element folders with an e.json, such as auths/loginTypes/NAME/e.json)\n", *dir)
		return exitError(1)
	}
	probs := app.Problems()
	if *public != "" {
		probs = append(probs, publicURLProblems(*public)...)
	}
	errs, warns := printProblems(stdout, probs)
	fmt.Fprintf(stderr, "%d elements, %d errors, %d warnings\n", app.Snapshot().Len(), errs, warns)
	if errs > 0 {
		return exitError(1)
	}
	return nil
}

// printProblems prints one line per problem, warnings and notes marked as
// such, and counts the errors and warnings.
func printProblems(w io.Writer, probs elements.Problems) (errs, warns int) {
	for _, p := range probs {
		switch p.Severity {
		case elements.SeverityError:
			errs++
			fmt.Fprintln(w, p.Error())
		case elements.SeverityWarning:
			warns++
			fmt.Fprintln(w, "warning: "+p.Error())
		default:
			fmt.Fprintln(w, "note: "+p.Error())
		}
	}
	return errs, warns
}

// hasAppElements says whether the app (its own folder or a folder it
// extends) defines any element, broken ones included: the builtin layer's
// alone mean the folder is not an element app, often a wrong path.
func hasAppElements(snap *runtime.Snapshot) bool {
	if len(snap.BrokenElements()) > 0 {
		return true
	}
	for _, e := range snap.Entries() {
		if e.Layer != "builtin" {
			return true
		}
	}
	return false
}

// publicURLProblems warns about what WeChat rejects in production: its
// redirect_uri domain must be a registered domain on port 80/443 (10003),
// not an IP, never with a #fragment, and pages should be https.
func publicURLProblems(raw string) elements.Problems {
	const field = "--public-url"
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return elements.Problems{elements.Errorf(field, "", "%q is not an absolute URL", raw)}
	}
	var out elements.Problems
	if u.Scheme != "https" {
		out = append(out, elements.Warnf(field, "", "%s is not https; WeChat pages should be served over https", raw))
	}
	if u.Port() != "" && u.Port() != "80" && u.Port() != "443" {
		out = append(out, elements.Warnf(field, "", "port %s: WeChat only redirects to ports 80 and 443 (errcode 10003)", u.Port()))
	}
	if net.ParseIP(u.Hostname()) != nil {
		out = append(out, elements.Warnf(field, "", "%s is an IP address: WeChat needs the registered 网页授权域名 (errcode 10003)", u.Hostname()))
	}
	if strings.Contains(raw, "#") {
		out = append(out, elements.Warnf(field, "", "contains #: WeChat appends ?code=...&state=... before the fragment, which breaks hash routes"))
	}
	return out
}

// elementsSynopsis is the usage of jit elements, exit status included.
const elementsSynopsis = `elements [--app DIR] [--apps-dir DIR]

Prints the Meta → Type → instance tree. Broken elements (errors, nothing
loaded) are listed too, marked broken with their first problem; then the
exit status is 1, as with validate (which prints every problem).`

func listElements(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("elements", elementsSynopsis, stderr)
	dir := fs.String("app", ".", "app folder")
	appsDir := appsDirFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	app, err := openForInspection(ctx, *dir, *appsDir)
	if err != nil {
		return err
	}
	defer app.Close()
	snap := app.Snapshot()
	broken := snap.BrokenElements()
	printTree(stdout, snap.Entries(), broken)
	if len(broken) > 0 {
		fmt.Fprintf(stderr, "%d broken element(s); jit validate lists every problem\n", len(broken))
		return exitError(1)
	}
	return nil
}

// printTree prints Metas with the Types and instances typed by them, each
// with its kind and the layer it came from; elements whose type is not
// loaded (inert JitAi types) are listed under their declared type, and
// broken elements under theirs, marked broken with their first problem.
func printTree(w io.Writer, entries []*runtime.Entry, broken []*runtime.Broken) {
	byName := map[string]*runtime.Entry{}
	kids := map[string][]*runtime.Entry{}
	for _, e := range entries {
		byName[e.FullName] = e
	}
	why := map[string]string{}
	if len(broken) > 0 {
		all := append([]*runtime.Entry(nil), entries...)
		for _, b := range broken {
			e := &runtime.Entry{FullName: b.FullName, Title: b.Title, Type: b.Type}
			if byName[b.Type] == nil {
				e.Type = "" // a type that is not loaded may be its very problem (a typo): list it on its own
			}
			all = append(all, e)
			why[b.FullName] = brokenReason(b)
		}
		sort.Slice(all, func(i, j int) bool { return all[i].FullName < all[j].FullName })
		entries = all
	}
	var roots []*runtime.Entry
	missing := map[string]bool{}
	for _, e := range entries {
		parent := e.Parent
		if parent == "" {
			parent = e.Type
		}
		switch {
		case parent == "":
			roots = append(roots, e)
		case byName[parent] != nil:
			kids[parent] = append(kids[parent], e)
		default:
			missing[parent] = true
			kids[parent] = append(kids[parent], e)
		}
	}
	var walk func(e *runtime.Entry, prefix string, last bool, top bool)
	walk = func(e *runtime.Entry, prefix string, last, top bool) {
		branch, next := "├─ ", "│  "
		if last {
			branch, next = "└─ ", "   "
		}
		if top {
			branch, next = "", ""
		}
		d, ok := why[e.FullName]
		if !ok {
			d = describe(e)
		}
		fmt.Fprintf(w, "%s%s%s  [%s]\n", prefix, branch, e.FullName, d)
		ks := kids[e.FullName]
		for i, k := range ks {
			walk(k, prefix+next, i == len(ks)-1, false)
		}
	}
	for _, r := range roots {
		walk(r, "", true, true)
	}
	var unknown []string
	for t := range missing {
		unknown = append(unknown, t)
	}
	sort.Strings(unknown)
	for _, t := range unknown {
		fmt.Fprintf(w, "%s  [not loaded: no implementation in this runtime]\n", t)
		ks := kids[t]
		for i, k := range ks {
			walk(k, "", i == len(ks)-1, false)
		}
	}
}

// brokenReason describes a broken element by its first problem.
func brokenReason(b *runtime.Broken) string {
	s := "broken"
	if len(b.Problems) > 0 {
		s += ": " + b.Problems[0].Error()
		if n := len(b.Problems) - 1; n > 0 {
			s += fmt.Sprintf(" (and %d more)", n)
		}
	}
	if b.Title != "" {
		s += "  " + b.Title
	}
	return s
}

func describe(e *runtime.Entry) string {
	parts := []string{e.Kind.String()}
	if e.Parent != "" {
		parts[0] = "sub-element"
	}
	parts = append(parts, "layer "+e.Layer)
	if len(e.Rewrites) > 0 {
		parts = append(parts, "rewrites "+strings.Join(e.Rewrites, ", "))
	}
	if e.Kind == elements.KindInert {
		parts = append(parts, "type "+e.Type)
	}
	if e.Impl != "" && e.Impl != e.FullName && e.Impl != e.Type && e.Parent == "" {
		parts = append(parts, "Go behaviour from "+e.Impl)
	}
	s := strings.Join(parts, ", ")
	if e.Title != "" {
		s += "  " + e.Title
	}
	return s
}

// validateHelp says what validate reads and checks.
const validateHelp = `Loads the app as serve would, without a database, and prints every problem
as "severity file: field: message" (line and column for JSON syntax). Exit 1
when there is an error or the folder holds no elements.

Read: every folder with an e.json, except node_modules, dist, appData,
commons, test, __pycache__, dot-folders, public/ at the root, frontend/ and
backend/ inside an element, and app.json "ignore" (names or path globs).
Checked: JSON syntax and depth, folder names, e.json keys and fullName, the
config file (frontBundleEntry inside the folder, a config copied from another
element), each Type's config schema with "did you mean", {{VAR}} values
(never quoted), extends (folder paths or {"appId","version"} in --apps-dir),
symlink loops and file kinds, and with --public-url what WeChat accepts.`
