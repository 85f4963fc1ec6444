package jit_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/jitwx/jit"
)

// /jit/qrcode.png: a code that holds the request's own host is private to
// it; paths are bounded.
func TestQRCodeImageCachingAndLimits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []jit.Option
		cache string
	}{
		{"no public URL", nil, "private, max-age=300"},
		{"public URL", []jit.Option{jit.WithPublicURL("https://h5.example.com")}, "public, max-age=300"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newUsersEnv(t, tc.opts...)
			b := e.browser()
			for range 2 { // the second from the cache, the same answer
				r := b.get("/jit/qrcode.png?path=/auths/loginTypes/WxMain/login")
				if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("Cache-Control") != tc.cache {
					t.Errorf("%d %q %q", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"))
				}
			}
			wantError(t, b.get("/jit/qrcode.png?path=/"+strings.Repeat("a", 600)), http.StatusBadRequest, "invalid_path")
		})
	}
}

// An unknown login element named at length is not echoed back whole.
func TestLongElementNameIsNotEchoed(t *testing.T) {
	e := newUsersEnv(t)
	long := strings.Repeat("N", 5000)
	for _, r := range []*response{e.browser().get(loginPath(long, "")), e.browser().getHTML(loginPath(long, ""))} {
		if r.StatusCode != http.StatusNotFound || len(r.body) > 3000 || strings.Contains(string(r.body), strings.Repeat("N", 100)) {
			t.Errorf("%d, %d bytes", r.StatusCode, len(r.body))
		}
	}
}
