package jit_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/models"
)

// browserFrom is a browser whose connections come from source, another
// loopback address (the whole of 127.0.0.0/8 is this machine): another
// client as the server sees it.
func (e *loginEnv) browserFrom(source string) *browser {
	b := e.browser()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64}
	e.t.Cleanup(tr.CloseIdleConnections)
	b.c.Transport = tr
	return b
}

// A binding cookie the server did not issue is never adopted: an attacker
// who plants one cannot fix the victim's login to a binding they know.
func TestPlantedBindingCookieIsReplaced(t *testing.T) {
	e := newUsersEnv(t)
	const planted = "ATTACKERKNOWSTHIS000000000"
	b := e.browser()
	req, _ := http.NewRequest(http.MethodGet, b.abs(loginPath("WxMain", "/home")), nil)
	req.AddCookie(&http.Cookie{Name: auths.BindingCookie, Value: planted})
	r := b.do(req)
	issued := cookieNamed(r, auths.BindingCookie)
	if r.StatusCode != http.StatusFound || issued == nil || issued.Value == planted {
		t.Fatalf("login with a planted binding: %d, Set-Cookie %v", r.StatusCode, issued)
	}
	state := mustURL(t, r.location()).Query().Get("state")
	// The victim's callback, replayed by the attacker with the planted
	// value, is refused; with the issued one it works.
	attacker := e.browser()
	code := e.sim.IssueCode(testAppID, userPanda.OpenID, "snsapi_userinfo")
	cb, _ := http.NewRequest(http.MethodGet, attacker.abs(callbackPath("WxMain", code, state)), nil)
	cb.AddCookie(&http.Cookie{Name: auths.BindingCookie, Value: planted})
	wantError(t, attacker.do(cb), http.StatusForbidden, "state_browser_mismatch")
	if n := count(t, e, &models.LoginState{}, "binding_hash = ?", sha256Hex(planted)); n != 0 {
		t.Errorf("%d login states bound to the planted value", n)
	}
	// An issued binding is kept from one login to the next.
	again := b.get(loginPath("WxMain", "/home"))
	if cookieNamed(again, auths.BindingCookie) != nil {
		t.Error("an issued binding was replaced")
	}
}

// X-Forwarded-Proto is believed only from a trusted proxy: anyone else
// sending it gets the plain-http cookies.
func TestForwardedHeadersOnlyFromTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []jit.Option
		wantTLS bool
	}{
		{"untrusted", nil, false},
		{"trusted", []jit.Option{jit.WithTrustedProxies("127.0.0.1")}, true},
		{"trusted range", []jit.Option{jit.WithTrustedProxies("127.0.0.0/8", "10.0.0.0/8")}, true},
		{"another proxy", []jit.Option{jit.WithTrustedProxies("10.1.2.3")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newUsersEnv(t, tc.opts...)
			b := e.browser()
			req, _ := http.NewRequest(http.MethodGet, b.abs(loginPath("WxMain", "/home")), nil)
			req.Header.Set("X-Forwarded-Proto", "https")
			r := b.do(req)
			prefixed := cookieNamed(r, auths.SecurePrefix+auths.BindingCookie)
			plain := cookieNamed(r, auths.BindingCookie)
			if tc.wantTLS && (prefixed == nil || !prefixed.Secure) || !tc.wantTLS && (plain == nil || plain.Secure) {
				t.Errorf("cookies %v", r.Cookies())
			}
			redirect := mustURL(t, r.location()).Query().Get("redirect_uri")
			if want := map[bool]string{true: "https://", false: "http://"}[tc.wantTLS]; !strings.HasPrefix(redirect, want) {
				t.Errorf("redirect_uri %s", redirect)
			}
		})
	}
	if _, err := jit.Open(context.Background(), usersFixture, jit.WithoutReload(), jit.WithoutDatabase(),
		jit.WithTrustedProxies("10.0.0.0/33")); err == nil || !strings.Contains(err.Error(), "10.0.0.0/33") {
		t.Errorf("a bad CIDR: %v", err)
	}
}

// With a public URL the request's Host decides nothing, and an https site
// never sends a browser to http.
func TestRedirectGuardIgnoresTheHostWithAPublicURL(t *testing.T) {
	e := newUsersEnv(t, jit.WithPublicURL("https://h5.example.com"))
	b := e.browser()
	for _, target := range []string{"https://evil.example/", "http://h5.example.com/home"} {
		req, _ := http.NewRequest(http.MethodGet, b.abs(loginPath("WxMain", target)), nil)
		req.Host = "evil.example"
		wantError(t, b.do(req), http.StatusBadRequest, "invalid_redirect")
	}
}

func TestLoginRateLimitPerClient(t *testing.T) {
	e := newUsersEnv(t, jit.WithLoginRateLimit(1, 5), jit.WithTrustedProxies("127.0.0.9"))
	flood, other := e.browser(), e.browserFrom("127.0.0.2")
	var limited *response
	for i := range 20 {
		r := flood.get(loginPath("WxMain", "/home"))
		if r.StatusCode == http.StatusTooManyRequests {
			limited = r
			if i < 5 {
				t.Errorf("limited after %d requests, burst is 5", i)
			}
			break
		}
	}
	if limited == nil {
		t.Fatal("20 logins in a burst were never limited")
	}
	wantError(t, limited, http.StatusTooManyRequests, "rate_limited")
	if ra, err := strconv.Atoi(limited.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After %q", limited.Header.Get("Retry-After"))
	}
	// A browser navigation gets the page, with the same status.
	if r := flood.getHTML(loginPath("WxMain", "/home")); r.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(r.body), "请求太频繁") {
		t.Errorf("browser: %d %s", r.StatusCode, r.body)
	}
	// Another client is not affected, and X-Forwarded-For from an
	// untrusted peer does not make the flood another client.
	other.mustLogin("WxMain", userPlain.OpenID)
	req, _ := http.NewRequest(http.MethodGet, flood.abs(loginPath("WxMain", "/home")), nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	wantError(t, flood.do(req), http.StatusTooManyRequests, "rate_limited")
	// Read-only routes are not limited.
	if r := flood.get("/auths/session"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("session route: %d", r.StatusCode)
	}
}

// A browser keeps at most a handful of pending logins: a new one replaces
// the oldest.
func TestPendingLoginsPerBrowserAreCapped(t *testing.T) {
	e := newUsersEnv(t, manyBrowsersOneAddress)
	b := e.browser()
	var states []string
	for range 8 {
		states = append(states, b.startLogin("WxMain", "/home"))
	}
	if n := count(t, e, &models.LoginState{}, "status = ?", "pending"); n != 5 {
		t.Errorf("%d pending logins for one browser, want 5", n)
	}
	// The newest still works; the oldest is gone.
	wantLoggedIn(t, b.get(callbackPath("WxMain", e.sim.IssueCode(testAppID, userPanda.OpenID, "snsapi_userinfo"), states[7])), "/home")
	wantError(t, b.get(callbackPath("WxMain", e.sim.IssueCode(testAppID, userPanda.OpenID, "snsapi_userinfo"), states[0])), http.StatusBadRequest, "state_invalid")
}

// floodSize is how many login requests TestLoginFloodStaysSmall sends
// (JIT_FLOOD raises it; BENCHMARKS.md has the 50,000 run).
func floodSize(t *testing.T) int {
	if n, err := strconv.Atoi(os.Getenv("JIT_FLOOD")); err == nil && n > 0 {
		return n
	}
	return 3000
}

// One client flooding the login route (with long return URLs) leaves the
// database small and other clients' logins working.
func TestLoginFloodStaysSmall(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "flood.db")
	e := newLoginEnv(t, envOptions{fixture: usersFixture, opts: []jit.Option{jit.WithDatabase(dbPath)}})
	n := floodSize(t)
	flood := e.browserFrom("127.0.0.3")
	flood.c.Jar = nil // a flood keeps no cookie: every request is a new browser
	long := "/home?" + strings.Repeat("x", 1900)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	start := time.Now()
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				target := "/home"
				if i%3 == 0 {
					target = long
				}
				r := flood.get(loginPath("WxMain", target))
				mu.Lock()
				statuses[r.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	e.browserFrom("127.0.0.4").mustLogin("WxMain", userPlain.OpenID)
	var rows int64
	e.app.DB().Model(&models.LoginState{}).Count(&rows)
	size := fileSize(dbPath) + fileSize(dbPath+"-wal")
	t.Logf("%d login requests in %v: statuses %v; %d state rows; database %.1f MB", n, took, statuses, rows, float64(size)/(1<<20))
	if statuses[http.StatusTooManyRequests] < n/2 {
		t.Errorf("the flood was not limited: %v", statuses)
	}
	if size > 5<<20 {
		t.Errorf("database %d bytes after the flood, want under 5 MB", size)
	}
	if statuses[http.StatusInternalServerError]+statuses[http.StatusServiceUnavailable] > 0 {
		t.Errorf("server errors: %v", statuses)
	}
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// The sweep deletes in batches and leaves the WAL truncated after a big
// one; it never runs as one long delete.
func TestSweepInBatchesTruncatesTheWAL(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "sweep.db")
	e := newLoginEnv(t, envOptions{fixture: usersFixture, opts: []jit.Option{jit.WithDatabase(dbPath)}})
	old := time.Now().Add(-3 * time.Hour)
	const n = 12000
	rows := make([]models.LoginState, 0, 1000)
	for i := range n {
		rows = append(rows, models.LoginState{State: fmt.Sprintf("OLD%023d", i), LoginType: "x", BindingHash: "h",
			RedirectURL: "/" + strings.Repeat("y", 500), Status: "pending", CreatedAt: old, ExpiresAt: old})
		if len(rows) == cap(rows) {
			if err := e.app.DB().Create(&rows).Error; err != nil {
				t.Fatal(err)
			}
			rows = rows[:0]
		}
	}
	before := fileSize(dbPath + "-wal")
	e.browser().startLogin("WxMain", "/home") // a login runs the sweep
	if left := count(t, e, &models.LoginState{}, "expires_at < ?", time.Now().Add(-time.Hour)); left != 0 {
		t.Errorf("%d expired states left", left)
	}
	if after := fileSize(dbPath + "-wal"); after > before/4 {
		t.Errorf("WAL %d bytes before the sweep, %d after: not truncated", before, after)
	}
}
