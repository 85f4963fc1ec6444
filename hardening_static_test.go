//go:build unix

package jit_test

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jitwx/jit"
)

const hostilePublicFixture = "testdata/apps/hostile-public"

// hostilePublicApp copies the hostile-public fixture into a temporary
// folder and adds what must not be committed: symlinks out of public/ (to a
// secret file and folder of the test, /etc/passwd, / and the app's element
// folders), symlinks that stay inside, dotfiles and a FIFO. It returns the
// app folder and the secret written outside public/.
func hostilePublicApp(t *testing.T) (dir, secret string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "app")
	if err := os.CopyFS(dir, os.DirFS(hostilePublicFixture)); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	secret = "OUTSIDE-SECRET-" + filepath.Base(outside)
	writeFiles(t, outside, map[string]string{"secret.txt": secret, "inner/deep.txt": secret})
	pub := filepath.Join(dir, "public")
	writeFiles(t, pub, map[string]string{
		".env":                  "DATABASE_URL=postgres://u:" + secret + "@db/prod",
		".git/config":           "[remote \"origin\"]\n\turl = https://token:" + secret + "@example.com/x.git\n",
		".git/HEAD":             "ref: refs/heads/main\n",
		".hidden/page.txt":      secret,
		"assets/.secret":        secret,
		".well-known/.htaccess": secret,
	})
	links := map[string]string{
		"leak.txt":      filepath.Join(outside, "secret.txt"), // a file outside
		"outside":       outside,                              // a folder outside
		"passwd":        "/etc/passwd",
		"rootfs":        "/",
		"elements":      "../auths",                              // the app's element folders (relative, still outside public/)
		"up.txt":        "assets/../../app.json",                 // in and back out
		"alias.txt":     "assets/app.txt",                        // inside: served
		"assets-link":   "assets",                                // a folder inside: served
		"assets/up.txt": "../index.html",                         // inside, through ..: served
		"abs-alias.txt": filepath.Join(pub, "assets", "app.txt"), // absolute, but inside: served
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(pub, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(pub, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("pipe", filepath.Join(pub, "pipe-link")); err != nil {
		t.Fatal(err)
	}
	return dir, secret
}

// getWithin is a GET that must be answered within d: a FIFO opened for
// reading would block the handler until a writer comes.
func (b *browser) getWithin(d time.Duration, path string) *response {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.abs(path), nil)
	if err != nil {
		b.e.t.Fatalf("new request: %v", err)
	}
	return b.do(req)
}

// A public/ folder with symlinks out of it, dotfiles and a FIFO: only
// regular files whose real path is inside public/ are served, never a
// dotfile or dot-folder but .well-known/, and nothing hangs.
func TestStaticPublicRefusesSymlinksOutDotfilesAndFIFOs(t *testing.T) {
	dir, secret := hostilePublicApp(t)
	e := newLoginEnv(t, envOptions{fixture: dir})
	b := e.browser()

	served := []struct{ path, body string }{
		{"/", "hostile-public index"},
		{"/index.html", ""}, // FileServer's redirect to ./, as before
		{"/assets/app.txt", "public asset"},
		{"/alias.txt", "public asset"},           // symlink to a file inside
		{"/assets-link/app.txt", "public asset"}, // symlink to a folder inside
		{"/assets/up.txt", "hostile-public index"},
		{"/abs-alias.txt", "public asset"},
		{"/.well-known/security.txt", "Contact: mailto:security@example.com"},
	}
	for _, tc := range served {
		r := b.getWithin(5*time.Second, tc.path)
		if tc.body == "" {
			if r.StatusCode != http.StatusMovedPermanently {
				t.Errorf("GET %s: %d, want the file server's 301", tc.path, r.StatusCode)
			}
			continue
		}
		if r.StatusCode != http.StatusOK || !strings.Contains(string(r.body), tc.body) {
			t.Errorf("GET %s: %d %q, want 200 with %q", tc.path, r.StatusCode, r.body, tc.body)
		}
	}

	refused := []string{
		// Symlinks whose real path is outside public/.
		"/leak.txt", "/outside", "/outside/", "/outside/secret.txt", "/outside/inner/deep.txt",
		"/passwd", "/rootfs", "/rootfs/", "/rootfs/etc/passwd", "/rootfs/etc/hostname",
		"/elements/loginTypes/MyWechatLogin/MyWechatLogin.json", "/elements/", "/up.txt",
		// Dotfiles and dot-folders, however spelled.
		"/.env", "/%2eenv", "/.git/config", "/.git/HEAD", "/.git/", "/.hidden/page.txt", "/assets/.secret",
		"/.well-known/.htaccess", "/.well-known/../.env", "/assets/../.git/config",
		// Not regular files.
		"/pipe", "/pipe-link",
		// Folders without an index.html are not listed.
		"/assets/", "/.well-known/",
	}
	for _, p := range refused {
		start := time.Now()
		r := b.getWithin(5*time.Second, p)
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("GET %s took %v", p, took)
		}
		wantError(t, r, http.StatusNotFound, "not_found")
		for _, leak := range []string{secret, "root:", "appSecret", "refs/heads"} {
			if strings.Contains(string(r.body), leak) {
				t.Errorf("GET %s: body reveals %q: %s", p, leak, r.body)
			}
		}
	}
	// The server is still answering after the FIFO requests.
	if r := b.getWithin(5*time.Second, "/assets/app.txt"); r.StatusCode != http.StatusOK {
		t.Errorf("after the FIFO: %d", r.StatusCode)
	}
}

// A path that climbs out of public/ with .. (raw, percent-encoded, or
// behind a folder) is answered 404 or 400 and never reaches the app's
// element folders or the file system. The request line is written by hand:
// an HTTP client would clean it first.
func TestStaticPublicDotDotCannotEscape(t *testing.T) {
	dir, secret := hostilePublicApp(t)
	e := newLoginEnv(t, envOptions{fixture: dir})
	for _, target := range []string{
		"/../auths/loginTypes/MyWechatLogin/MyWechatLogin.json",
		"/../app.json",
		"/../../../../../../etc/passwd",
		"/assets/../../auths/loginTypes/MyWechatLogin/e.json",
		"/%2e%2e/auths/loginTypes/MyWechatLogin/MyWechatLogin.json",
		"/%2e%2e%2fauths%2floginTypes%2fMyWechatLogin%2fMyWechatLogin.json",
		"/..%2f..%2f..%2fetc%2fpasswd",
		"/..\\auths\\loginTypes\\MyWechatLogin\\MyWechatLogin.json",
		"//../auths/loginTypes/MyWechatLogin/e.json",
		"/outside/../outside/secret.txt",
	} {
		status, body := rawGet(t, e.srv.Listener.Addr().String(), target)
		if status != http.StatusNotFound && status != http.StatusBadRequest {
			t.Errorf("GET %s: %d %q, want 404 or 400", target, status, body)
		}
		for _, leak := range []string{secret, "appSecret", "WECHAT_APP_SECRET", "root:", "auths.loginTypes.WechatPublicType", "Hostile public/"} {
			if strings.Contains(body, leak) {
				t.Errorf("GET %s: body reveals %q: %s", target, leak, body)
			}
		}
	}
}

// rawGet sends "GET target HTTP/1.1" as it is, and reads the response.
func rawGet(t *testing.T, addr, target string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, addr); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	body, _ := readAllAndClose(resp)
	return resp.StatusCode, string(body)
}

// An app from an embedded or in-memory tree has no symlinks, but its
// public/ may still hold dotfiles and entries that are not regular files:
// neither is served.
func TestStaticPublicInMemoryTree(t *testing.T) {
	fsys := fstest.MapFS{
		"app/app.json":                  {Data: []byte(`{"title": "in memory"}`)},
		"app/public/index.html":         {Data: []byte("in-memory index")},
		"app/public/a/b.txt":            {Data: []byte("b")},
		"app/public/.env":               {Data: []byte("SECRET=in-memory-secret")},
		"app/public/.git/config":        {Data: []byte("in-memory-secret")},
		"app/public/.well-known/acme/x": {Data: []byte("acme-token")},
		"app/public/pipe":               {Data: []byte("in-memory-secret"), Mode: fs.ModeNamedPipe},
		"app/public/device":             {Data: []byte("in-memory-secret"), Mode: fs.ModeDevice},
		"app/auths/loginTypes/X/e.json": {Data: []byte(`{"title": "x", "type": "auths.loginTypes.WechatPublicType"}`)},
		"app/auths/loginTypes/X/X.json": {Data: []byte(`{"appId": "wx0123456789abcdef", "appSecret": "in-memory-secret"}`)},
	}
	app, err := jit.OpenFS(context.Background(), fsys, "app", jit.WithoutReload(), jit.WithoutDatabase(), jit.WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close() })
	srv := newLoopbackServer(t, app.Handler())
	for path, want := range map[string]int{
		"/": 200, "/a/b.txt": 200, "/.well-known/acme/x": 200,
		"/.env": 404, "/.git/config": 404, "/pipe": 404, "/device": 404, "/a/": 404,
		"/../auths/loginTypes/X/X.json": 404,
	} {
		status, body := rawGet(t, srv.Listener.Addr().String(), path)
		if status != want {
			t.Errorf("GET %s: %d %q, want %d", path, status, body, want)
		}
		if strings.Contains(body, "in-memory-secret") {
			t.Errorf("GET %s: body reveals the secret: %s", path, body)
		}
	}
}
