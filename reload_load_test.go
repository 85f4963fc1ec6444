package jit_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jitwx/jit"
)

// Rewriting an element's config 100 times while logins run makes no
// request fail: readers keep the snapshot they started with, and every
// reload is complete before it is swapped in.
func TestHotReloadUnderLoad(t *testing.T) {
	sim, env := repFakeWechat(t)
	dir := t.TempDir()
	el := filepath.Join(dir, "auths", "loginTypes", "ShopLogin")
	if err := os.MkdirAll(el, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(el, "e.json"), replicaApp["auths/loginTypes/ShopLogin/e.json"].Data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(el, "ShopLogin.json")
	writeCfg := func(lang string) {
		body := fmt.Sprintf(`{"appId": %q, "appSecret": "{{WECHAT_APP_SECRET}}", "lang": %q,
			"authorizeUrl": "{{WECHAT_AUTHORIZE_URL}}", "apiBaseUrls": ["{{WECHAT_API_BASE}}"]}`, replicaAppID, lang)
		tmp := cfgPath + ".tmp"
		if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
			t.Error(err)
		}
		if err := os.Rename(tmp, cfgPath); err != nil {
			t.Error(err)
		}
	}
	writeCfg("zh_CN")
	var reloads atomic.Int32
	app, err := jit.Open(context.Background(), dir, jit.WithDatabase(filepath.Join(t.TempDir(), "r.db")),
		jit.WithLogger(slog.New(slog.DiscardHandler)), manyBrowsersOneAddress,
		jit.WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }),
		jit.WithDebounce(5*time.Millisecond), jit.WithReloadHook(func(error) { reloads.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()

	stop := make(chan struct{})
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		langs := []string{"en", "zh_TW", "zh_CN"}
		for i := range 100 {
			writeCfg(langs[i%3])
			time.Sleep(12 * time.Millisecond) // past the debounce, so most writes reload
		}
		close(stop)
	}()

	var logins, failures atomic.Int32
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c := repBrowser()
				state, err := repStartLogin(t, c, srv.URL)
				if err == nil {
					code := sim.IssueCode(replicaAppID, sim.Users()[(w+i)%len(sim.Users())].OpenID, "snsapi_userinfo")
					var status int
					status, _, err = repFinishLogin(c, srv.URL, code, state)
					if err == nil && status != http.StatusFound {
						err = fmt.Errorf("callback status %d", status)
					}
				}
				logins.Add(1)
				if err != nil {
					failures.Add(1)
					t.Errorf("login during reloads: %v", err)
				}
			}
		}()
	}
	writer.Wait()
	wg.Wait()
	if reloads.Load() == 0 {
		t.Fatal("no reload happened")
	}
	t.Logf("%d logins during %d reloads, %d failed", logins.Load(), reloads.Load(), failures.Load())
	if p := app.Problems(); p.HasErrors() {
		t.Fatalf("problems after the rewrites: %v", p.Err())
	}
}

// Editing the config's state marker while a user is on WeChat's consent
// page does not break that user's login.
func TestStateMarkerEditedMidLogin(t *testing.T) {
	sim, env := repFakeWechat(t)
	dir := t.TempDir()
	el := filepath.Join(dir, "auths", "loginTypes", "ShopLogin")
	if err := os.MkdirAll(el, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(el, "e.json"), replicaApp["auths/loginTypes/ShopLogin/e.json"].Data, 0o644)
	writeCfg := func(marker string) {
		body := fmt.Sprintf(`{"appId": %q, "appSecret": "{{WECHAT_APP_SECRET}}", "state": %q,
			"authorizeUrl": "{{WECHAT_AUTHORIZE_URL}}", "apiBaseUrls": ["{{WECHAT_API_BASE}}"]}`, replicaAppID, marker)
		if err := os.WriteFile(filepath.Join(el, "ShopLogin.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg("shopA")
	reloaded := make(chan struct{}, 16)
	app, err := jit.Open(context.Background(), dir, jit.WithDatabase(filepath.Join(t.TempDir(), "m.db")),
		jit.WithLogger(slog.New(slog.DiscardHandler)), jit.WithDebounce(5*time.Millisecond),
		jit.WithReloadHook(func(error) { reloaded <- struct{}{} }),
		jit.WithLookupEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()

	c := repBrowser()
	state, err := repStartLogin(t, c, srv.URL)
	if err != nil || !strings.HasPrefix(state, "shopA") {
		t.Fatalf("state %q, %v", state, err)
	}
	writeCfg("shopB")
	select {
	case <-reloaded:
	case <-time.After(5 * time.Second):
		t.Fatal("no reload")
	}
	code := sim.IssueCode(replicaAppID, sim.Users()[0].OpenID, "snsapi_userinfo")
	if status, _, err := repFinishLogin(c, srv.URL, code, state); err != nil || status != http.StatusFound {
		t.Fatalf("callback after the marker changed: %d %v", status, err)
	}
}
