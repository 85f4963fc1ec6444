package jit

import (
	"net/url"
	"strings"

	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/auths/wechatsim"
	"github.com/jitwx/jit/runtime"
)

// DevSecret is the AppSecret dev mode gives {{WECHAT_APP_SECRET}} when the
// environment has none, so the demo runs with no setup.
const DevSecret = "jitDevSimulatorSecret0000000000"

// startSimulator creates the dev-mode WeChat simulator and returns the
// runtime options that point login elements at it.
func (a *App) startSimulator() []runtime.Option {
	// Under a public URL with a path (the handler behind http.StripPrefix)
	// browsers see the simulator under that path too.
	mount := ""
	if u, err := url.Parse(a.opts.publicURL); err == nil {
		mount = strings.TrimRight(u.Path, "/")
	}
	sim := wechatsim.New(wechatsim.WithBasePath("/_wechat"), wechatsim.WithMountPath(mount), wechatsim.WithLogger(a.opts.logger))
	a.sim = sim
	lookup := a.opts.lookupEnv
	a.opts.lookupEnv = func(name string) (string, bool) {
		if v, ok := lookup(name); ok {
			return v, ok
		}
		if name == "WECHAT_APP_SECRET" || name == "WECHAT_WEB_APP_SECRET" { // the scaffolds' names
			return DevSecret, true
		}
		return "", false
	}
	self := strings.TrimRight(a.opts.devSelfURL, "/")
	var opts []runtime.Option
	for _, t := range auths.Types() {
		if t.Simulate == nil {
			continue
		}
		// The browser follows a relative authorize URL to this same server;
		// the server calls the API through its own listening address.
		values := t.Simulate(mount+"/_wechat", self+"/_wechat")
		opts = append(opts, runtime.WithPatch(runtime.Patch{Type: t.ID, Values: values}))
	}
	return opts
}

// syncSimulator tells the simulator every simulated login element's app,
// after the first load and after each reload.
func (a *App) syncSimulator() {
	sim, ok := a.sim.(*wechatsim.Server)
	if !ok {
		return
	}
	for _, e := range a.rt.Snapshot().Entries() {
		if p, ok := e.Object.(auths.Simulated); ok {
			sim.AddApp(p.SimulatorApp())
		}
	}
}
