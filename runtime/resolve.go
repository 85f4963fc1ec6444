package runtime

import (
	"strings"

	"github.com/jitwx/jit/elements"
)

// resolution is what the resolve stage learned about one full name.
type resolution struct {
	kind      elements.Kind
	chain     []string // declared type first, up to the Meta
	impl      string   // nearest registered Go Type
	inertType string   // for inert elements: the type that has no implementation
	err       *elements.Problem
	cycle     bool
}

// isTypeName tells a Type typed by a Type from an instance of a Type: by
// the JitAi convention a Type's name ends in "Type" (WechatPublicType).
func isTypeName(name string) bool {
	return strings.HasSuffix(name[strings.LastIndexByte(name, '.')+1:], "Type")
}

// resolve computes, and memoises in rt.res, the kind, chain and
// implementation of a defined full name. It returns nil for undefined names.
func (rt *Runtime) resolve(name string, stack []string) *resolution {
	if r, ok := rt.res[name]; ok {
		return r
	}
	d, _ := rt.effective(name)
	if d == nil {
		return nil
	}
	efile := d.File(elements.ElementFile)
	r := &resolution{}
	defer func() { rt.res[name] = r }()

	if d.Type == "" {
		r.kind = elements.KindMeta
		if _, ok := rt.opts.registry.Lookup(name); ok {
			r.impl = name
		}
		return r
	}
	stack = append(stack, name)
	for i, s := range stack[:len(stack)-1] {
		if s == d.Type {
			r.cycle = true
			r.err = elements.Errorf(efile, "type", "cycle: %s → %s", strings.Join(stack[i:], " → "), d.Type)
			return r
		}
	}

	tr := rt.resolve(d.Type, stack)
	switch {
	case tr == nil:
		return rt.resolveUndefined(r, d, efile)
	case tr.cycle:
		r.cycle = true
		r.err = elements.Errorf(efile, "type", "%s is part of a type cycle", d.Type)
		return r
	case tr.err != nil:
		r.err = elements.Errorf(efile, "type", "type %s is invalid (see %s)", d.Type, tr.err.File)
		return r
	}
	r.chain = append([]string{d.Type}, tr.chain...)
	switch tr.kind {
	case elements.KindMeta:
		r.kind = elements.KindType
	case elements.KindType:
		r.kind = elements.KindInstance
		if isTypeName(name) {
			r.kind = elements.KindType
		}
	case elements.KindInstance:
		r.err = elements.Errorf(efile, "type", "%s is an instance, not a Type: an element's type must be a Meta or a Type", d.Type)
		return r
	case elements.KindInert:
		r.kind, r.inertType = elements.KindInert, tr.inertType
		return r
	}
	if _, ok := rt.opts.registry.Lookup(name); ok && r.kind == elements.KindType {
		r.impl = name
	} else {
		for _, t := range r.chain {
			if _, ok := rt.opts.registry.Lookup(t); ok {
				r.impl = t
				break
			}
		}
	}
	if r.impl == "" && r.kind == elements.KindInstance {
		if pkg, t := rt.missingImport(r.chain); pkg != "" {
			r.err = elements.Errorf(efile, "type", "%s has no Go implementation registered: forgotten import of %q?", t, pkg)
			return r
		}
		r.kind, r.inertType = elements.KindInert, d.Type
	}
	return r
}

// missingImport finds a Type of the chain whose folder names the Go package
// that implements it (e.json "goPackage") while no such implementation is
// registered: a program that uses an official Type without importing its
// package (as with a database/sql driver) is told which import is missing
// instead of getting an inert element. The folder says it because a Type
// whose package is not linked has no registration to say it.
func (rt *Runtime) missingImport(chain []string) (pkg, typ string) {
	for _, t := range chain {
		if d, _ := rt.effective(t); d != nil {
			if pkg := d.Field(elements.GoPackageField).String(); pkg != "" && !rt.registered(t) {
				return pkg, t
			}
		}
	}
	return "", ""
}

// resolveUndefined handles a declared type that no layer defines.
func (rt *Runtime) resolveUndefined(r *resolution, d *elements.Definition, efile string) *resolution {
	switch {
	case rt.brokenSomewhere(d.Type):
		r.err = elements.Errorf(efile, "type", "type %s cannot be loaded (see its own problems)", d.Type)
	case rt.registered(d.Type):
		// A Type that exists only in Go: no folder, no defaults.
		r.kind, r.chain, r.impl = elements.KindInstance, []string{d.Type}, d.Type
		if isTypeName(d.Name()) {
			r.kind = elements.KindType
		}
	default:
		if s := rt.closestType(d.Type); s != "" {
			r.err = elements.Errorf(efile, "type", "unknown type %s (did you mean %s?)", d.Type, s)
			return r
		}
		// Most likely a platform type this runtime does not implement
		// (pages, databases, other login types of a JitAi export): keep the
		// element listed but inert, rather than failing the app.
		r.kind, r.chain, r.inertType = elements.KindInert, []string{d.Type}, d.Type
	}
	return r
}

func (rt *Runtime) registered(name string) bool {
	_, ok := rt.opts.registry.Lookup(name)
	return ok
}

// closestType finds a defined or registered type within a small edit
// distance of a missing one: a typo, which must be an error, not an inert
// element.
func (rt *Runtime) closestType(missing string) string {
	if s, ok := rt.suggestMemo[missing]; ok {
		return s
	}
	best, bestDist := "", 3
	defer func() { rt.suggestMemo[missing] = best }()
	consider := func(name string) {
		if name == missing || !isTypeName(name) && !strings.HasSuffix(name, ".Meta") {
			return
		}
		if d := distance(missing, name, bestDist-1); d < bestDist {
			best, bestDist = name, d
		}
	}
	for _, id := range rt.opts.registry.IDs() {
		consider(id)
	}
	for _, ls := range rt.layers {
		for name, n := range ls.byName {
			if n.def != nil {
				consider(name)
			}
		}
	}
	return best
}
