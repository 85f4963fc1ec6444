package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/jitwx/jit/elements"
)

// Layer is one source of element folders. Lookups try layers in order: the
// app, then its parents in the order app.json lists them, then the
// built-in layer; the first definition of a full name wins.
type Layer struct {
	// Name is "app"; a parent's folder as app.json wrote it, or its appId
	// ("wanyun.BaseApp") for a parent found in the apps folder; or "builtin".
	Name string
	FS   fs.FS
	Dir  string // the folder on disk, empty for embedded and in-memory trees (no watching)
}

// AppFile is the optional app manifest.
const AppFile = "app.json"

// maxLayers bounds the apps one extends chain may bring in.
const maxLayers = 32

// realFolder identifies an on-disk app by its real folder, so that a parent
// reached through a symlink is the same app, and a link to the app itself
// is a cycle.
func realFolder(dir string) string {
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		dir = r
	}
	abs, _ := filepath.Abs(dir)
	return abs
}

// ErrExtendsCycle is returned when apps extend each other in a loop.
var ErrExtendsCycle = errors.New("apps extend each other in a cycle")

// DiscoverOption configures DiscoverLayers.
type DiscoverOption func(*discoverOptions)

type discoverOptions struct {
	appsDir string
}

// WithAppsDir sets the apps folder in which parents that app.json names
// JitAi's way, {"appId": "wanyun.BaseApp", "version": "1.0.0"}, are found:
// <appsDir>/wanyun/BaseApp/1.0.0/ when that folder holds an app.json,
// else <appsDir>/wanyun/BaseApp/. The folder is on disk even when the app
// itself is an fs.FS tree. An empty dir configures none.
func WithAppsDir(dir string) DiscoverOption {
	return func(o *discoverOptions) { o.appsDir = dir }
}

// DiscoverLayers returns the app layer and its parents, depth first, reading
// "extends" from each app.json. dir is the app's folder on disk; when it is
// empty the app is the folder appPath of fsys (an embedded or in-memory tree)
// and extends paths are resolved inside fsys. Parents named by appId are
// resolved in the apps folder (WithAppsDir), on disk in either case.
func DiscoverLayers(fsys fs.FS, appPath, dir string, opts ...DiscoverOption) ([]Layer, elements.Problems, error) {
	var o discoverOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.appsDir != "" {
		if abs, err := filepath.Abs(o.appsDir); err == nil {
			o.appsDir = abs
		}
	}
	var (
		layers []Layer
		probs  elements.Problems
		seen   = map[string]bool{}
	)
	var visit func(l Layer, key string, stack []string) error
	visit = func(l Layer, key string, stack []string) error {
		// For trees not on disk, key is the app's path inside fsys; on
		// disk, its absolute folder.
		for _, s := range stack {
			if s == key {
				return fmt.Errorf("%w: %v", ErrExtendsCycle, append(stack, key))
			}
		}
		if seen[key] {
			return nil
		}
		if len(seen) >= maxLayers {
			probs = append(probs, elements.Errorf(elements.DisplayPath(l.Name, AppFile), "extends", "more than %d apps in the extends chain; not read further", maxLayers))
			return nil
		}
		seen[key] = true
		layers = append(layers, l)
		file := elements.DisplayPath(l.Name, AppFile)
		parents, p := readExtends(l)
		probs = append(probs, p...)
		for _, pa := range parents {
			var pl Layer
			var pkey string
			switch {
			case pa.appID != "":
				pdir, prob := o.findApp(file, pa)
				if prob != nil {
					probs = append(probs, prob)
					continue
				}
				pl = Layer{Name: pa.appID, FS: os.DirFS(pdir), Dir: pdir}
				pkey = realFolder(pdir)
			case l.Dir != "":
				pdir := filepath.Join(l.Dir, filepath.FromSlash(pa.path))
				if fi, err := os.Stat(pdir); err != nil || !fi.IsDir() {
					probs = append(probs, elements.Errorf(file, "extends", "parent app %q is not a folder", pa.path))
					continue
				}
				pl = Layer{Name: displayLayerName(dir, pdir), FS: os.DirFS(pdir), Dir: pdir}
				pkey = realFolder(pdir)
			default:
				ppath := path.Join(key, pa.path)
				if !fs.ValidPath(ppath) {
					probs = append(probs, elements.Errorf(file, "extends", "parent app %q is outside the tree", pa.path))
					continue
				}
				if fi, err := fs.Stat(fsys, ppath); err != nil || !fi.IsDir() {
					probs = append(probs, elements.Errorf(file, "extends", "parent app %q is not a folder", pa.path))
					continue
				}
				sub, err := fs.Sub(fsys, ppath)
				if err != nil {
					probs = append(probs, elements.Errorf(file, "extends", "parent app %q: %v", pa.path, err))
					continue
				}
				pl = Layer{Name: pa.path, FS: sub}
				pkey = ppath
			}
			if err := visit(pl, pkey, append(stack, key)); err != nil {
				return err
			}
		}
		return nil
	}
	rootKey, appFS := path.Clean(appPath), fsys
	if dir != "" {
		rootKey = realFolder(dir)
	} else if rootKey != "." {
		sub, err := fs.Sub(fsys, rootKey)
		if err != nil {
			return nil, nil, fmt.Errorf("app folder %q: %w", appPath, err)
		}
		appFS = sub
	}
	if err := visit(Layer{Name: "app", FS: appFS, Dir: dir}, rootKey, nil); err != nil {
		return nil, probs, err
	}
	return layers, probs, nil
}

func displayLayerName(appDir, dir string) string {
	if rel, err := filepath.Rel(appDir, dir); err == nil {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(dir)
}

// parentRef is one entry of "extends": a folder path relative to the app,
// or an appId (with an optional version) found in the apps folder.
type parentRef struct {
	field          string // "extends[i]", for problems
	path           string
	appID, version string
}

// findApp returns the absolute folder of the parent app ref in the apps
// folder: <appsDir>/<org>/<App>/<version> when it holds an app.json, else
// <appsDir>/<org>/<App> when that does. Otherwise the problem names the
// folders searched.
func (o discoverOptions) findApp(file string, ref parentRef) (string, *elements.Problem) {
	what := "parent app " + ref.appID
	if ref.version != "" {
		what += " version " + ref.version
	}
	if o.appsDir == "" {
		return "", elements.Errorf(file, ref.field, "%s not found: no apps folder is configured (pass --apps-dir or set JIT_APPS_DIR; in Go, jit.WithAppsDir)", what)
	}
	org, name, _ := strings.Cut(ref.appID, ".")
	base := filepath.Join(o.appsDir, org, name)
	var searched []string
	if ref.version != "" {
		searched = append(searched, filepath.Join(base, ref.version))
	}
	searched = append(searched, base)
	for _, d := range searched {
		if holdsApp(d) {
			return d, nil
		}
	}
	msg := fmt.Sprintf("%s not found: no %s in %s", what, AppFile, strings.Join(searched, " or "))
	if fi, err := os.Stat(o.appsDir); err != nil || !fi.IsDir() {
		msg += fmt.Sprintf(" (the apps folder %s does not exist)", o.appsDir)
	} else if vs := versions(base); len(vs) > 0 {
		msg += fmt.Sprintf(" (versions there: %s)", strings.Join(vs, ", "))
	}
	return "", elements.Errorf(file, ref.field, "%s", msg)
}

func holdsApp(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, AppFile))
	return err == nil && fi.Mode().IsRegular()
}

// versions lists the subfolders of an app's folder that hold an app.json.
func versions(base string) []string {
	entries, _ := os.ReadDir(base)
	var out []string
	for _, e := range entries {
		if e.IsDir() && holdsApp(filepath.Join(base, e.Name())) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

func readExtends(l Layer) ([]parentRef, elements.Problems) {
	file := elements.DisplayPath(l.Name, AppFile)
	raw, err := elements.ReadFile(l.FS, AppFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, elements.Problems{elements.Errorf(file, "", "cannot read: %v", err)}
	}
	if raw, err = elements.CheckJSON(raw); err != nil {
		return nil, elements.Problems{elements.Errorf(file, "", "%v", err)}
	}
	if s := elements.JSONSyntax(raw); s != "" {
		return nil, elements.Problems{elements.Errorf(file, "", "not valid JSON: %s", s)}
	}
	ext := gjson.GetBytes(raw, "extends")
	if !ext.Exists() {
		return nil, nil
	}
	if ext.Type == gjson.String {
		return []parentRef{{field: "extends", path: ext.String()}}, nil
	}
	if !ext.IsArray() {
		return nil, elements.Problems{elements.Errorf(file, "extends", `must be a list of parent apps: folder paths or {"appId": "<org>.<App>", "version": "..."}`)}
	}
	var out []parentRef
	var probs elements.Problems
	for i, v := range ext.Array() {
		field := fmt.Sprintf("extends[%d]", i)
		switch {
		case v.Type == gjson.String && v.String() != "":
			out = append(out, parentRef{field: field, path: v.String()})
		case v.IsObject():
			ref, p := appRef(file, field, v)
			if p != nil {
				probs = append(probs, p)
				continue
			}
			out = append(out, ref)
		default:
			probs = append(probs, elements.Errorf(file, field, `must be a parent app's folder path or {"appId": "<org>.<App>", "version": "..."}`))
		}
	}
	return out, probs
}

// appRef reads an {"appId": "wanyun.BaseApp", "version": "1.0.0"} entry.
func appRef(file, field string, v gjson.Result) (parentRef, *elements.Problem) {
	id := v.Get("appId")
	switch {
	case !id.Exists() || id.Type == gjson.Null || id.Type == gjson.String && id.String() == "":
		return parentRef{}, elements.Errorf(file, field+".appId", `required: the parent app's id, such as "wanyun.BaseApp"`)
	case id.Type != gjson.String:
		return parentRef{}, elements.Errorf(file, field+".appId", `must be a string such as "wanyun.BaseApp"`)
	}
	if why := appIDProblem(id.String()); why != "" {
		return parentRef{}, elements.Errorf(file, field+".appId", `%q is not <org>.<App> (such as "wanyun.BaseApp"): %s`, id.String(), why)
	}
	ref := parentRef{field: field, appID: id.String()}
	if ver := v.Get("version"); ver.Exists() && ver.Type != gjson.Null {
		if ver.Type != gjson.String {
			return parentRef{}, elements.Errorf(file, field+".version", `must be a string such as "1.0.0"`)
		}
		if !isFolderName(ver.String()) {
			return parentRef{}, elements.Errorf(file, field+".version", "%q cannot be a folder name", ver.String())
		}
		ref.version = ver.String()
	}
	return ref, nil
}

// appIDProblem says why id is not <org>.<App>, or returns "".
func appIDProblem(id string) string {
	switch strings.Count(id, ".") {
	case 0:
		return "it has no dot"
	case 1:
	default:
		return "it has more than one dot"
	}
	org, name, _ := strings.Cut(id, ".")
	for _, seg := range []string{org, name} {
		if !isFolderName(seg) {
			return fmt.Sprintf("%q cannot be a folder name", seg)
		}
	}
	return ""
}

// isFolderName reports whether s can name one folder inside the apps folder.
func isFolderName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\`) && filepath.IsLocal(s)
}
