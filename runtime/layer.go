package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/tidwall/gjson"

	"github.com/jitwx/jit/elements"
)

// Layer is one source of element folders. Lookups try layers in order: the
// app, then its parents in the order app.json lists them, then the
// built-in layer; the first definition of a full name wins.
type Layer struct {
	Name string // "app", the parent's folder as app.json wrote it, or "builtin"
	FS   fs.FS
	Dir  string // the folder on disk, empty for embedded and in-memory trees (no watching)
}

// AppFile is the optional app manifest.
const AppFile = "app.json"

// ErrExtendsCycle is returned when apps extend each other in a loop.
var ErrExtendsCycle = errors.New("apps extend each other in a cycle")

// DiscoverLayers returns the app layer and its parents, depth first, reading
// "extends" from each app.json. dir is the app's folder on disk; when it is
// empty the app is the folder appPath of fsys (an embedded or in-memory tree)
// and extends paths are resolved inside fsys.
func DiscoverLayers(fsys fs.FS, appPath, dir string) ([]Layer, elements.Problems, error) {
	var (
		layers []Layer
		probs  elements.Problems
		seen   = map[string]bool{}
	)
	var visit func(l Layer, key string, stack []string) error
	visit = func(l Layer, key string, stack []string) error {
		// For trees not on disk, key is the app's path inside fsys.
		for _, s := range stack {
			if s == key {
				return fmt.Errorf("%w: %v", ErrExtendsCycle, append(stack, key))
			}
		}
		if seen[key] {
			return nil
		}
		seen[key] = true
		layers = append(layers, l)
		parents, p := readExtends(l)
		probs = append(probs, p...)
		for _, rel := range parents {
			var pl Layer
			var pkey string
			if l.Dir != "" {
				pdir := filepath.Join(l.Dir, filepath.FromSlash(rel))
				if fi, err := os.Stat(pdir); err != nil || !fi.IsDir() {
					probs = append(probs, elements.Errorf(elements.DisplayPath(l.Name, AppFile), "extends", "parent app %q is not a folder", rel))
					continue
				}
				pl = Layer{Name: displayLayerName(dir, pdir), FS: os.DirFS(pdir), Dir: pdir}
				pkey, _ = filepath.Abs(pdir)
			} else {
				ppath := path.Join(key, rel)
				if !fs.ValidPath(ppath) {
					probs = append(probs, elements.Errorf(elements.DisplayPath(l.Name, AppFile), "extends", "parent app %q is outside the tree", rel))
					continue
				}
				if fi, err := fs.Stat(fsys, ppath); err != nil || !fi.IsDir() {
					probs = append(probs, elements.Errorf(elements.DisplayPath(l.Name, AppFile), "extends", "parent app %q is not a folder", rel))
					continue
				}
				sub, err := fs.Sub(fsys, ppath)
				if err != nil {
					probs = append(probs, elements.Errorf(elements.DisplayPath(l.Name, AppFile), "extends", "parent app %q: %v", rel, err))
					continue
				}
				pl = Layer{Name: rel, FS: sub}
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
		rootKey, _ = filepath.Abs(dir)
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

func readExtends(l Layer) ([]string, elements.Problems) {
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
	if !gjson.ValidBytes(raw) {
		return nil, elements.Problems{elements.Errorf(file, "", "not valid JSON")}
	}
	ext := gjson.GetBytes(raw, "extends")
	if !ext.Exists() {
		return nil, nil
	}
	if ext.Type == gjson.String {
		return []string{ext.String()}, nil
	}
	if !ext.IsArray() {
		return nil, elements.Problems{elements.Errorf(file, "extends", "must be a list of parent app folders")}
	}
	var out []string
	var probs elements.Problems
	for i, v := range ext.Array() {
		if v.Type != gjson.String || v.String() == "" {
			probs = append(probs, elements.Errorf(file, fmt.Sprintf("extends[%d]", i), "must be a folder path"))
			continue
		}
		out = append(out, v.String())
	}
	return out, probs
}
