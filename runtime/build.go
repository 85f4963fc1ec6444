package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"

	"github.com/jitwx/jit/elements"
)

// build runs the validate and build stages for one resolved name. It
// returns nil and the problems when the element cannot be used.
func (rt *Runtime) build(ctx context.Context, name string) (*Entry, elements.Problems) {
	d, li := rt.effective(name)
	r := rt.resolve(name, nil)
	e := &Entry{
		FullName: name, Title: d.Title, Type: d.Type, Kind: r.kind,
		Layer: rt.layers[li].Name, Def: d, TypeChain: r.chain, Impl: r.impl, Object: d,
	}
	for _, ls := range rt.layers[li+1:] {
		if n := ls.byName[name]; n != nil && n.def != nil {
			e.Rewrites = append(e.Rewrites, ls.Name)
		}
	}
	if r.err != nil {
		p := *r.err
		p.Element = name
		return nil, elements.Problems{&p}
	}
	switch r.kind {
	case elements.KindType:
		return e, rt.checkTypeDefaults(d, r)
	case elements.KindInstance:
		return rt.buildInstance(ctx, e, r)
	}
	return e, nil
}

// checkTypeDefaults checks what a Type's own defaults say, without
// requiring fields that instances are expected to fill in.
func (rt *Runtime) checkTypeDefaults(d *elements.Definition, r *resolution) elements.Problems {
	info, ok := rt.opts.registry.Lookup(r.impl)
	if !ok || d.Config == nil {
		return nil
	}
	cfg, err := elements.Merge(elements.ConfigSource{File: d.File(""), JSON: d.Config})
	if err != nil {
		return problemsOf(err, d)
	}
	optional := elements.Schema{Fields: make([]elements.Field, len(info.Schema.Fields)), Hints: info.Schema.Hints}
	for i, f := range info.Schema.Fields {
		f.Required = false
		optional.Fields[i] = f
	}
	return tag(optional.Validate(cfg, configFile(d)), d.FullName)
}

func (rt *Runtime) buildInstance(ctx context.Context, e *Entry, r *resolution) (*Entry, elements.Problems) {
	d := e.Def
	file := configFile(d)
	info, _ := rt.opts.registry.Lookup(r.impl)

	// Defaults from the farthest Type down to the instance's own config.
	var sources []elements.ConfigSource
	for i := len(r.chain) - 1; i >= 0; i-- {
		if td, _ := rt.effective(r.chain[i]); td != nil && td.Config != nil {
			sources = append(sources, elements.ConfigSource{File: configFile(td), JSON: td.Config})
		}
	}
	sources = append(sources, elements.ConfigSource{File: file, JSON: d.Config})
	cfg, err := elements.Merge(sources...)
	if err != nil {
		return nil, problemsOf(err, d)
	}
	// Patches go first: a value they replace no longer needs its {{VAR}}.
	for _, p := range rt.opts.patches {
		if p.Type == r.impl || contains(r.chain, p.Type) {
			maps.Copy(cfg, p.Values)
		}
	}
	env, probs := elements.ExpandEnvFields(cfg, rt.opts.lookupEnv, file)
	// A field whose {{VAR}} is missing is reported once, as such, not again
	// as "required" or as not matching its pattern.
	for _, vp := range info.Schema.ValidateEnv(cfg, file, env) {
		if !envFailed(probs, vp.Field) {
			probs = append(probs, vp)
		}
	}
	if d.ConfigFile == "" {
		// The file named is where the config belongs, not one that exists.
		for _, p := range probs {
			if p.File == file && p.Msg == "required" {
				p.Msg = "required (this file does not exist yet)"
			}
		}
	}
	probs = tag(probs, d.FullName)
	if probs.HasErrors() {
		return nil, probs
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, append(probs, tag(env.RedactProblems(problemsOf(err, d)), d.FullName)...)
	}
	inst := &elements.Instance{Def: d, TypeChain: r.chain, Impl: r.impl, Config: elements.NewConfig(raw), ConfigFile: file}
	obj, err := elements.Build(elements.NewContext(ctx, rt.opts.host), info, inst)
	if err != nil {
		// A Type's own checks (Provision, Validate) may quote config values:
		// none that came from an environment variable may be shown.
		return nil, append(probs, tag(env.RedactProblems(problemsOf(err, d)), d.FullName)...)
	}
	e.Object = obj
	return e, probs
}

func envFailed(envProbs elements.Problems, field string) bool {
	for _, p := range envProbs {
		if p.Field == field || strings.HasPrefix(p.Field, field+".") || strings.HasPrefix(p.Field, field+"[") {
			return true
		}
	}
	return false
}

// configFile is the file a user edits to change an element's config.
func configFile(d *elements.Definition) string {
	if d.ConfigFile != "" {
		return elements.DisplayPath(d.Layer, d.ConfigFile)
	}
	return d.File(d.Name() + ".json")
}

// problemsOf turns a build error into problems, keeping field paths that
// an element reported itself.
func problemsOf(err error, d *elements.Definition) elements.Problems {
	if joined, ok := err.(interface{ Unwrap() []error }); ok { // errors.Join: each its own problem
		var ps elements.Problems
		for _, e := range joined.Unwrap() {
			ps = append(ps, problemsOf(e, d)...)
		}
		return ps
	}
	var p *elements.Problem
	if errors.As(err, &p) {
		return elements.Problems{p}
	}
	return elements.Problems{elements.Errorf(configFile(d), "", "%v", err)}
}

func tag(ps elements.Problems, name string) elements.Problems {
	for _, p := range ps {
		p.Element = name
	}
	return ps
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
