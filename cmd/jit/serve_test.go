package main

// Tests of `jit serve`'s connection limits, dev-mode address check,
// operator listener and shutdown. Each reproduces its attack over real
// loopback connections (only ever to 127.0.0.1), with small flag values so
// that the bounded outcome shows in about a second.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer the server's goroutines may write while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// served is a `jit serve` running in this process.
type served struct {
	base   string // http://127.0.0.1:PORT, the public listener
	admin  string // the --admin-addr listener, when given
	listen string // the address printed on the "serving" line
	stdout *syncBuffer
	stderr *syncBuffer
}

// serveInProcess runs `jit serve ARGS` (the bundled demo app unless ARGS
// say otherwise, on a fresh SQLite file) until the test ends, and returns
// once it listens.
func serveInProcess(t *testing.T, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "jit.db"), "--no-reload"}, args...)
	done := make(chan int, 1)
	exited := make(chan struct{})
	go func() {
		code := run(ctx, args, s.stdout, s.stderr)
		done <- code
		close(exited)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("jit serve exited %d after the test: %s", code, s.stderr)
				}
			default: // reported already
			}
		case <-time.After(shutdownGrace + 5*time.Second):
			t.Errorf("jit serve did not stop")
		}
	})
	wantAdmin := false
	for _, a := range args {
		wantAdmin = wantAdmin || a == "--admin-addr"
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := s.stdout.String()
		if strings.Contains(out, "jit: database ") && (!wantAdmin || strings.Contains(out, "jit: operator routes")) {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("jit serve exited %d before serving:\n%s%s", code, out, s.stderr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("jit serve did not start:\n%s%s", out, s.stderr)
		}
	}
	s.listen, s.base = servedURL(t, s.stdout.String(), "jit: serving ")
	if wantAdmin {
		_, s.admin = servedURL(t, s.stdout.String(), "jit: operator routes ")
	}
	return s
}

// servedURL finds the line starting with prefix in out and returns the URL
// after its " on ", as printed and as this test reaches it: on 127.0.0.1,
// whatever address the server listens on.
func servedURL(t *testing.T, out, prefix string) (printed, loopback string) {
	t.Helper()
	for line := range strings.Lines(out) {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		_, printed, _ = strings.Cut(strings.TrimSpace(line), " on ")
		u, err := url.Parse(printed)
		if err != nil || u.Port() == "" {
			t.Fatalf("%q does not end in a URL with a port", line)
		}
		return printed, "http://127.0.0.1:" + u.Port()
	}
	t.Fatalf("no line %q in:\n%s", prefix, out)
	return "", ""
}

// dial opens a raw connection to the server at base (an http://host:port).
func dial(t *testing.T, base string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed reads c until the server closes it, at most within, and
// returns how long that took; it fails the test if the connection is
// still open then.
func waitClosed(t *testing.T, c net.Conn, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(within))
	_, err := io.Copy(io.Discard, c)
	took := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still holds the connection after %v", took.Round(time.Millisecond))
	}
	return took // io.EOF (nil here) or a reset: closed either way
}

// get sends one request on a keep-alive connection and returns the status.
func getOn(t *testing.T, c net.Conn, r *bufio.Reader, path string, header string) int {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", path, header); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_ = c.SetDeadline(time.Time{})
	return resp.StatusCode
}

func httpGet(t *testing.T, u string) (int, string, http.Header) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// A client that declares a 100 kB body and sends 3 bytes held its
// connection for minutes; with --read-timeout it is cut off when the
// timeout passes.
func TestServeCutsOffSlowRequestBody(t *testing.T) {
	s := serveInProcess(t, "--read-timeout", "300ms")
	for _, path := range []string{"/auths/logout", "/no-such-route"} {
		c := dial(t, s.base)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\nabc", path)
		took := waitClosed(t, c, 5*time.Second)
		t.Logf("POST %s with 3 of 100000 bytes: closed after %v", path, took.Round(time.Millisecond))
		if took > 1500*time.Millisecond {
			t.Errorf("POST %s: the slow body held the connection %v with --read-timeout 300ms", path, took)
		}
	}
	// Headers that never end are cut off too (at most 10 s, here 300 ms).
	c := dial(t, s.base)
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
	if took := waitClosed(t, c, 5*time.Second); took > 1500*time.Millisecond {
		t.Errorf("unfinished headers held the connection %v", took)
	}
	// A body that arrives in time is read as usual, and the connection
	// stays usable.
	c = dial(t, s.base)
	r := bufio.NewReader(c)
	for range 2 {
		fmt.Fprint(c, "POST /auths/logout HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}")
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("POST with its whole body: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("POST /auths/logout with its whole body: %d, want 204", resp.StatusCode)
		}
		time.Sleep(400 * time.Millisecond) // past the read timeout: it bounds sending, not the connection
	}
}

// The read timeout bounds sending the request, not answering it: a QR long
// poll that waits longer than --read-timeout still gets its answer (the
// server lifts the read deadline once the request is read; were it left,
// the request's context would be cancelled and the poll would answer
// nothing).
func TestServeReadTimeoutSparesTheLongPoll(t *testing.T) {
	s := serveInProcess(t, "--read-timeout", "300ms")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Post(s.base+"/auths/loginTypes/DemoWechatLogin/qr", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ticket struct{ Ticket string }
	err = json.NewDecoder(resp.Body).Decode(&ticket)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || err != nil || ticket.Ticket == "" {
		t.Fatalf("POST qr: %d %v", resp.StatusCode, err)
	}
	start := time.Now()
	resp, err = c.Get(s.base + "/auths/loginTypes/DemoWechatLogin/qr/" + ticket.Ticket + "?wait=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"waiting"`) || took < 900*time.Millisecond {
		t.Fatalf("long poll of 1 s with --read-timeout 300ms: %d %q after %v", resp.StatusCode, body, took)
	}
}

// Idle connections, fresh ones that never send a request and keep-alive
// ones after a request, are closed by the server after the idle timeout,
// so they cannot pile up to the open-file limit.
func TestServeClosesIdleConnections(t *testing.T) {
	s := serveInProcess(t, "--idle-timeout", "300ms", "--read-timeout", "300ms")
	const n = 40
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = dial(t, s.base)
		if i%2 == 0 { // every other one makes a request and stays open
			if code := getOn(t, conns[i], bufio.NewReader(conns[i]), "/healthz", ""); code != http.StatusOK {
				t.Fatalf("GET /healthz: %d", code)
			}
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var slowest time.Duration
	for _, c := range conns {
		wg.Go(func() {
			took := waitClosed(t, c, 5*time.Second)
			mu.Lock()
			slowest = max(slowest, took)
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("%d idle connections closed by the server within %v", n, slowest.Round(time.Millisecond))
	if slowest > 1500*time.Millisecond {
		t.Errorf("an idle connection lived %v with --idle-timeout 300ms", slowest)
	}
	if code, _, _ := httpGet(t, s.base+"/healthz"); code != http.StatusOK {
		t.Errorf("a new client after that: %d", code)
	}
}

// Request headers over --max-header-bytes (default 64 KiB) get 431.
func TestServeLimitsHeaderSize(t *testing.T) {
	send := func(base string, size int) int {
		c := dial(t, base)
		return getOn(t, c, bufio.NewReader(c), "/healthz", "X-Fill: "+strings.Repeat("a", size)+"\r\n")
	}
	def := serveInProcess(t)
	if code := send(def.base, 32<<10); code != http.StatusOK {
		t.Errorf("32 KiB of headers, default limit: %d, want 200", code)
	}
	if code := send(def.base, 100<<10); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("100 KiB of headers, default limit: %d, want 431", code)
	}
	small := serveInProcess(t, "--max-header-bytes", "4096")
	if code := send(small.base, 1<<10); code != http.StatusOK {
		t.Errorf("1 KiB of headers, --max-header-bytes 4096: %d, want 200", code)
	}
	// net/http allows 4 KiB over the limit for the request line and slack.
	if code := send(small.base, 16<<10); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("16 KiB of headers, --max-header-bytes 4096: %d, want 431", code)
	}
}

func TestServeRejectsBadLimits(t *testing.T) {
	for _, args := range [][]string{
		{"--read-timeout", "-1s"}, {"--write-timeout", "-1s"}, {"--idle-timeout", "-1s"}, {"--max-header-bytes", "0"},
	} {
		code, out, errOut := runJit(t, append([]string{"serve"}, args...)...)
		if code != 1 || out != "" || !strings.Contains(errOut, args[0]+" must") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	_, _, errOut := runJit(t, "serve", "--help")
	for _, flag := range []string{"-read-timeout", "-write-timeout", "-idle-timeout", "-max-header-bytes", "-admin-addr", "-dev-allow-remote"} {
		if !strings.Contains(errOut, flag) {
			t.Errorf("serve --help does not list %s", flag)
		}
	}
}

// The defaults, which the tests above cannot wait for.
func TestServeDefaultLimits(t *testing.T) {
	var lim limits
	fset := newFlags("serve", "", io.Discard)
	lim.register(fset)
	if err := parse(fset, nil); err != nil {
		t.Fatal(err)
	}
	srv := lim.server(http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	if srv.ReadHeaderTimeout != 10*time.Second || srv.ReadTimeout != 30*time.Second || srv.WriteTimeout != 40*time.Second ||
		srv.IdleTimeout != 60*time.Second || srv.MaxHeaderBytes != 64<<10 {
		t.Errorf("defaults: header %v, read %v, write %v, idle %v, max header %d", srv.ReadHeaderTimeout, srv.ReadTimeout,
			srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	}
	// The write timeout covers the slowest legitimate answers, and the
	// shutdown waits as long.
	if defaultWriteTimeout < 25*time.Second+10*time.Second || shutdownGrace < defaultWriteTimeout {
		t.Errorf("write timeout %v, shutdown %v", defaultWriteTimeout, shutdownGrace)
	}
}

// Dev mode (and the demo app, always in it) lets anyone log in as anyone:
// it refuses an address other machines can reach unless told otherwise.
func TestServeDevModeRefusesRemoteAddresses(t *testing.T) {
	t.Setenv("JIT_CMD_TEST_SECRET", "abcdefabcdefabcdefabcdefabcdefab")
	for _, args := range [][]string{
		{"--addr", "0.0.0.0:0"},
		{"--addr", ":0"},
		{"--addr", "[::]:0"},
		{"--addr", "192.0.2.1:8080"}, // a LAN-like address this host does not have: refused before listening
		{"--addr", "0.0.0.0:0", "--dev", "--app", "testdata/app"},
	} {
		args = append([]string{"serve", "--db", filepath.Join(t.TempDir(), "jit.db")}, args...)
		code, out, errOut := runJit(t, args...)
		if code != 1 || out != "" {
			t.Errorf("%v: exit %d, stdout %q, want 1 and nothing served", args, code, out)
		}
		for _, want := range []string{"refusing to start dev mode on ", "not a loopback address",
			"log in as any user", "--dev-allow-remote", "127.0.0.1"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("%v: message lacks %q: %s", args, want, errOut)
			}
		}
	}
	for addr, ok := range map[string]bool{"127.0.0.1:8080": true, "127.0.0.2:1": true, "[::1]:8080": true, "localhost:8080": true,
		"10.0.0.5:8080": false, "[fe80::1%eth0]:80": false, ":8080": false} {
		if err := refuseRemoteDev(t.Context(), addr, false); (err == nil) != ok {
			t.Errorf("%s: %v", addr, err)
		}
	}
}

// With --dev-allow-remote the demo listens on every interface, warns, and
// its simulated login works (the server calls itself on 127.0.0.1). The
// test only sends traffic to 127.0.0.1.
func TestServeDevAllowRemote(t *testing.T) {
	s := serveInProcess(t, "--addr", "0.0.0.0:0", "--dev-allow-remote")
	if !strings.HasPrefix(s.listen, "http://0.0.0.0:") {
		t.Errorf("serving line shows %s, want the listen address http://0.0.0.0:PORT", s.listen)
	}
	if !strings.Contains(s.stderr.String(), "DEV MODE ON A NON-LOOPBACK ADDRESS") {
		t.Errorf("no warning about the remote dev mode:\n%s", s.stderr)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(s.base + "/auths/loginTypes/DemoWechatLogin/login?redirectUrl=/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	authorize, err := url.Parse(s.base)
	if err == nil {
		authorize, err = authorize.Parse(resp.Header.Get("Location"))
	}
	if err != nil || resp.StatusCode != http.StatusFound || authorize.Host != strings.TrimPrefix(s.base, "http://") {
		t.Fatalf("login: %d to %q (%v), want a redirect to the simulator on this server", resp.StatusCode, resp.Header.Get("Location"), err)
	}
	q := authorize.Query()
	form := url.Values{"appid": {q.Get("appid")}, "redirect_uri": {q.Get("redirect_uri")}, "response_type": {"code"},
		"scope": {q.Get("scope")}, "state": {q.Get("state")}, "action": {"custom"}, "nickname": {"远程"}}
	resp, err = c.PostForm(authorize.Scheme+"://"+authorize.Host+authorize.Path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(callback, s.base+"/auths/loginTypes/DemoWechatLogin/callback?") {
		t.Fatalf("simulator consent: %d to %q", resp.StatusCode, callback)
	}
	resp, err = c.Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/" {
		t.Fatalf("callback: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = c.Get(s.base + "/auths/session")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "远程") {
		t.Fatalf("session after the simulated login: %d %s", resp.StatusCode, body)
	}
}

// With --admin-addr the operator routes leave the public listener (the
// JSON 404 of any unknown path there) and answer on their own.
func TestServeAdminAddr(t *testing.T) {
	s := serveInProcess(t, "--admin-addr", "127.0.0.1:0")
	_, unknown, unknownHdr := httpGet(t, s.base+"/no-such-route")
	for _, p := range []string{"/metrics", "/readyz", "/healthz", "/metrics/", "//metrics", "/x/../metrics"} {
		code, body, hdr := httpGet(t, s.base+p)
		if code != http.StatusNotFound || body != unknown || hdr.Get("Content-Type") != unknownHdr.Get("Content-Type") {
			t.Errorf("public %s: %d %s %q, want the 404 of an unknown path: %s %q", p, code, body, hdr.Get("Content-Type"), unknown, unknownHdr.Get("Content-Type"))
		}
	}
	if code, _, _ := httpGet(t, s.base+"/api/elements"); code != http.StatusOK {
		t.Errorf("public /api/elements: %d", code)
	}
	for p, want := range map[string]string{"/metrics": "jit_active_sessions", "/readyz": `"ready"`, "/healthz": `"ok"`} {
		if code, body, _ := httpGet(t, s.admin+p); code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("admin %s: %d %.200s", p, code, body)
		}
	}
	for _, p := range []string{"/", "/api/elements", "/auths/loginTypes", "/_wechat/connect/oauth2/authorize"} {
		if code, body, _ := httpGet(t, s.admin+p); code != http.StatusNotFound || body != unknown {
			t.Errorf("admin %s: %d %.200s, want the JSON 404", p, code, body)
		}
	}
	// Without --admin-addr they stay on the one listener.
	one := serveInProcess(t)
	if code, body, _ := httpGet(t, one.base+"/metrics"); code != http.StatusOK || !strings.Contains(body, "jit_active_sessions") {
		t.Errorf("/metrics without --admin-addr: %d", code)
	}
}

// The command as a process: it prints where it listens, and SIGTERM closes
// idle connections at once, lets an in-flight QR long poll answer, and
// exits 0 well within the 40 s grace.
func TestServeSIGTERMClosesIdleAndFinishesLongPoll(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the command")
	}
	bin := buildJit(t)
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--db", filepath.Join(t.TempDir(), "jit.db"), "--no-reload")
	out := startProcess(t, cmd, "jit: database ")
	_, base := servedURL(t, out, "jit: serving the bundled demo app (dev mode) on http://127.0.0.1:")
	_, admin := servedURL(t, out, "jit: operator routes (/healthz, /readyz, /metrics) on http://127.0.0.1:")
	if code, _, _ := httpGet(t, admin+"/healthz"); code != http.StatusOK {
		t.Fatalf("admin /healthz: %d", code)
	}

	idle := make([]net.Conn, 10)
	for i := range idle {
		idle[i] = dial(t, base)
		if code := getOn(t, idle[i], bufio.NewReader(idle[i]), "/api/elements", ""); code != http.StatusOK {
			t.Fatalf("GET /api/elements: %d", code)
		}
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Post(base+"/auths/loginTypes/DemoWechatLogin/qr", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ticket struct{ Ticket string }
	_ = json.NewDecoder(resp.Body).Decode(&ticket)
	resp.Body.Close()
	type answer struct {
		code int
		body string
		err  error
	}
	poll := make(chan answer, 1)
	go func() {
		resp, err := c.Get(base + "/auths/loginTypes/DemoWechatLogin/qr/" + ticket.Ticket + "?wait=2")
		if err != nil {
			poll <- answer{err: err}
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		poll <- answer{code: resp.StatusCode, body: string(body)}
	}()
	time.Sleep(300 * time.Millisecond) // the long poll is in flight

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for _, conn := range idle {
		if took := waitClosed(t, conn, 5*time.Second); took > time.Second {
			t.Errorf("an idle connection was closed %v after SIGTERM", took)
		}
	}
	if a := <-poll; a.err != nil || a.code != http.StatusOK || !strings.Contains(a.body, `"waiting"`) {
		t.Errorf("long poll in flight during shutdown: %d %q %v", a.code, a.body, a.err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(shutdownGrace):
		t.Fatal("still running 40 s after SIGTERM")
	}
	took := time.Since(start)
	t.Logf("exited %v after SIGTERM", took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("shutdown took %v with only a 2 s long poll in flight", took)
	}
	for _, u := range []string{base, admin} {
		if c, err := net.DialTimeout("tcp", strings.TrimPrefix(u, "http://"), time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts after the exit", u)
		}
	}
}

// A second SIGTERM (a second Ctrl-C) ends the process at once instead of
// waiting for a long poll in flight.
func TestServeSecondSignalExitsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the command")
	}
	cmd := exec.Command(buildJit(t), "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "jit.db"), "--no-reload")
	_, base := servedURL(t, startProcess(t, cmd, "jit: database "), "jit: serving ")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Post(base+"/auths/loginTypes/DemoWechatLogin/qr", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ticket struct{ Ticket string }
	_ = json.NewDecoder(resp.Body).Decode(&ticket)
	resp.Body.Close()
	go func() {
		if resp, err := c.Get(base + "/auths/loginTypes/DemoWechatLogin/qr/" + ticket.Ticket + "?wait=20"); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(300 * time.Millisecond) // the long poll is in flight
	_ = cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond) // the graceful shutdown waits for it
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("exited before the second signal: %v", err)
	}
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err == nil {
			t.Errorf("exit 0 after the second signal, want killed by it")
		}
		t.Logf("exited %v after the second signal: %v", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(5 * time.Second):
		t.Fatal("still running 5 s after the second signal")
	}
}

// The issue, as it happened, with a small open-file limit: idle keep-alive
// connections take every file descriptor and new clients wait forever.
// With --idle-timeout the server frees them and every client is answered.
func TestServeIdleConnectionsCannotExhaustFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the command")
	}
	bin := buildJit(t)
	const fileLimit, clients = 64, 120
	// attack opens clients connections at once, each sends one request and
	// keeps its connection open, and returns how many were answered within
	// wait.
	attack := func(idleTimeout string, wait time.Duration) int {
		cmd := exec.Command("sh", "-c", `ulimit -n "$0" && exec "$@"`, fmt.Sprint(fileLimit), bin, "serve",
			"--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "jit.db"), "--no-reload",
			"--idle-timeout", idleTimeout, "--read-timeout", "300ms")
		_, base := servedURL(t, startProcess(t, cmd, "jit: database "), "jit: serving ")
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		answered := make(chan bool, clients)
		for range clients {
			c := dial(t, base)
			go func() {
				_ = c.SetDeadline(time.Now().Add(wait))
				fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err == nil {
					resp.Body.Close()
				}
				answered <- err == nil && resp.StatusCode == http.StatusOK
				// and the connection stays open, idle
			}()
		}
		n := 0
		for range clients {
			if <-answered {
				n++
			}
		}
		return n
	}
	// Without an idle timeout (the server before this fix): the connections
	// answered first hold the descriptors, and the rest are never served.
	if n := attack("1h", 2*time.Second); n >= clients {
		t.Fatalf("all %d clients answered under a %d-file limit with no idle timeout: the limit did not apply", n, fileLimit)
	} else {
		t.Logf("no idle timeout: %d of %d clients answered within 2 s", n, clients)
	}
	start := time.Now()
	if n := attack("300ms", 15*time.Second); n != clients {
		t.Fatalf("--idle-timeout 300ms: %d of %d clients answered", n, clients)
	}
	t.Logf("--idle-timeout 300ms: all %d clients answered within %v", clients, time.Since(start).Round(time.Millisecond))
}

// startProcess starts cmd, a `jit serve`, and returns its output up to
// and including the first line starting with until. It is killed at the
// end of the test if still running.
func startProcess(t *testing.T, cmd *exec.Cmd, until string) string {
	t.Helper()
	cmd.Env = os.Environ()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := bufio.NewScanner(stdout)
	timer := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	var out strings.Builder
	for lines.Scan() {
		out.WriteString(lines.Text() + "\n")
		if strings.HasPrefix(lines.Text(), until) {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return out.String()
		}
	}
	t.Fatalf("jit serve did not start:\n%s", out.String())
	return ""
}

// --login-rate and --login-burst limit each client on the login routes;
// --trusted-proxies decides whose X-Forwarded-For names the client.
func TestServeLoginRateAndTrustedProxies(t *testing.T) {
	s := serveInProcess(t, "--login-rate", "0.5", "--login-burst", "3", "--trusted-proxies", "127.0.0.1/32")
	login := s.base + "/auths/loginTypes/DemoWechatLogin/login"
	get := func(client string) int {
		req, _ := http.NewRequest(http.MethodGet, login, nil)
		req.Header.Set("X-Forwarded-For", client)
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var codes []int
	for range 4 {
		codes = append(codes, get("203.0.113.1"))
	}
	if codes[0] != http.StatusFound || codes[3] != http.StatusTooManyRequests {
		t.Errorf("one client's four logins: %v, want the fourth refused", codes)
	}
	// Behind the trusted proxy, another client has its own budget.
	if code := get("203.0.113.2"); code != http.StatusFound {
		t.Errorf("another client behind the proxy: %d", code)
	}
	if code := run(context.Background(), []string{"serve", "--trusted-proxies", "not-a-cidr", "--addr", "127.0.0.1:0"}, io.Discard, io.Discard); code == 0 {
		t.Error("a bad --trusted-proxies was accepted")
	}
}
