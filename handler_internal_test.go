package jit

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// A panicking handler gives a JSON 500 without its details, not a dropped
// connection; the details go to the log.
func TestRecoverPanics(t *testing.T) {
	var logs strings.Builder
	a := &App{opts: options{logger: slog.New(slog.NewTextHandler(&logs, nil))}}
	e := echo.New()
	e.HTTPErrorHandler = jsonErrors(a.opts.logger)
	e.Use(a.recoverPanics())
	e.GET("/boom", func(echo.Context) error { panic("boom: internal detail") })
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"code":"internal"`) {
		t.Errorf("got %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "internal detail") || strings.Contains(rec.Body.String(), "goroutine") {
		t.Errorf("response reveals the panic: %s", rec.Body)
	}
	if !strings.Contains(logs.String(), "internal detail") || !strings.Contains(logs.String(), "handler_internal_test.go") {
		t.Errorf("panic or its stack not logged: %s", logs.String())
	}

	// Behind the request log, as in the App's handler: one JSON 500, and
	// the panic's path is cut in the log too.
	logs.Reset()
	e = echo.New()
	e.HTTPErrorHandler = jsonErrors(a.opts.logger)
	e.Use(a.accessLog(), a.recoverPanics())
	long := "/boom/" + strings.Repeat("x", 5000)
	e.GET("/boom/*", func(echo.Context) error { panic("boom: internal detail") })
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, long, nil))
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != `{"code":"internal","message":"internal error"}`+"\n" {
		t.Errorf("got %d %q", rec.Code, rec.Body)
	}
	if strings.Contains(logs.String(), long[:300]) || !strings.Contains(logs.String(), "status=500") {
		t.Errorf("log: %.2000s", logs.String())
	}

	// http.ErrAbortHandler still aborts the response.
	e.GET("/abort", func(echo.Context) error { panic(http.ErrAbortHandler) })
	func() {
		defer func() {
			if r := recover(); r != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler", r)
			}
		}()
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/abort", nil))
	}()
}

// The sessions gauge counts once per ttl, and concurrent scrapes of a stale
// count share one query.
func TestCachedCount(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	clock := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	c := &cachedCount{ttl: 15 * time.Second, now: now, count: func() (int64, error) {
		n := calls.Add(1)
		<-release
		return int64(n * 10), nil
	}}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if v := c.get(); v != 10 {
				t.Errorf("get = %v, want 10", v)
			}
		})
	}
	time.Sleep(50 * time.Millisecond) // let them all wait on the one count
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d counts for 50 concurrent scrapes, want 1", n)
	}
	mu.Lock()
	clock = clock.Add(14 * time.Second)
	mu.Unlock()
	if v := c.get(); v != 10 || calls.Load() != 1 {
		t.Fatalf("within the ttl: %v after %d counts", v, calls.Load())
	}
	mu.Lock()
	clock = clock.Add(2 * time.Second)
	mu.Unlock()
	if v := c.get(); v != 20 || calls.Load() != 2 {
		t.Fatalf("after the ttl: %v after %d counts", v, calls.Load())
	}
	// A failed count is -1, and is kept for the ttl too.
	failing := &cachedCount{ttl: time.Minute, now: now, count: func() (int64, error) { calls.Add(1); return 0, errors.New("db down") }}
	before := calls.Load()
	if failing.get() != -1 || failing.get() != -1 || calls.Load() != before+1 {
		t.Fatalf("failed count: %d queries", calls.Load()-before)
	}
}

func TestLabelValuesAreBounded(t *testing.T) {
	for code, want := range map[int]string{0: "0", -1: "-1", 40029: "40029", 40163: "40163", 50002: "50002", 1: "other", 99999: "other", -40029: "other", 10003: "other"} {
		if got := errcodeLabel(code); got != want {
			t.Errorf("errcodeLabel(%d) = %q, want %q", code, got, want)
		}
	}
	for outcome, want := range map[string]string{"ok": "ok", "code_used": "code_used", "login_type_not_found": "login_type_not_found", "internal": "internal", "made_up": "other", "": "other", "OK": "other"} {
		if got := outcomeLabel(outcome); got != want {
			t.Errorf("outcomeLabel(%q) = %q, want %q", outcome, got, want)
		}
	}
	for _, tc := range []struct {
		in       string
		outRunes int
	}{{"", 0}, {strings.Repeat("a", 256), 256}, {strings.Repeat("熊", 256), 256}, {strings.Repeat("a", 257), 256}, {strings.Repeat("熊", 1000), 256}, {strings.Repeat("\xff", 1000), 256}} {
		got := clipPath(tc.in)
		if n := utf8.RuneCountInString(got); n != tc.outRunes || (tc.in != got && !strings.HasSuffix(got, "…")) {
			t.Errorf("clipPath(%d bytes) = %d characters %.40q", len(tc.in), n, got)
		}
	}
	for id, ok := range map[string]bool{"a": true, strings.Repeat("Z", 64): true, "a.b_c-9": true, "": false, strings.Repeat("Z", 65): false, "a b": false, "a\"b": false, "é": false} {
		if validRequestID(id) != ok {
			t.Errorf("validRequestID(%.70q) = %v", id, !ok)
		}
	}
}

func TestQRCacheDrawsARepeatedLinkOnceAndStaysBounded(t *testing.T) {
	var q qrCache
	draws := 0
	draw := func(text string) ([]byte, error) { draws++; return []byte(text), nil }
	for range 3 {
		if png, _ := q.get("https://a/x", draw); string(png) != "https://a/x" {
			t.Fatalf("got %q", png)
		}
	}
	if draws != 1 {
		t.Errorf("drawn %d times", draws)
	}
	for i := range 10 * qrCacheSize {
		q.get(string(rune('a'+i%26))+strings.Repeat("x", i), draw)
	}
	if len(q.pngs) > qrCacheSize {
		t.Errorf("%d entries kept", len(q.pngs))
	}
}
