package runtime

import (
	"errors"
	"io/fs"
	"path"
	"strings"

	"github.com/jitwx/jit/elements"
)

// Folders at an app's root that hold files, not elements.
var rootNonElementDirs = map[string]bool{"public": true, "node_modules": true, "dist": true}

// scanned is one element folder as the discover stage read it: def is nil
// when the folder is broken, and probs say why.
type scanned struct {
	dir   string
	def   *elements.Definition
	probs elements.Problems
}

// scanTree reads every element folder at or below dir. A missing dir yields
// nothing: that is how a removed folder is noticed.
func scanTree(fsys fs.FS, layer, dir string, out []scanned) []scanned {
	name := dir
	if name == "" {
		name = "."
	}
	entries, err := fs.ReadDir(fsys, name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && dir != "" {
			out = append(out, scanned{dir: dir, probs: elements.Problems{
				elements.Errorf(elements.DisplayPath(layer, dir), "", "cannot read folder: %v", err)}})
		}
		return out
	}
	isElement := false
	for _, e := range entries {
		if e.Name() == elements.ElementFile && !e.IsDir() {
			isElement = true
			break
		}
	}
	if isElement && dir != "" {
		def, probs := elements.ReadDefinition(fsys, layer, dir)
		out = append(out, scanned{dir: dir, def: def, probs: probs})
	}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || (dir == "" && rootNonElementDirs[n]) || (isElement && elements.IsCodeDir(n)) {
			continue
		}
		if !isDir(fsys, path.Join(name, n), e) {
			continue
		}
		out = scanTree(fsys, layer, path.Join(dir, n), out)
	}
	return out
}

// isDir follows symlinks, which Kubernetes ConfigMap volumes are made of.
func isDir(fsys fs.FS, name string, e fs.DirEntry) bool {
	if e.Type()&fs.ModeSymlink == 0 {
		return e.IsDir()
	}
	fi, err := fs.Stat(fsys, name)
	return err == nil && fi.IsDir()
}
