package jit_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/auths/wechatsim"
	"github.com/jitwx/jit/models"
)

// Production benchmarks (issue 4; results in BENCHMARKS.md), each beside
// its floor in the same run:
//
//	go test -run '^$' -bench 'Logins|CallbackLatency|ServerMemory' -benchtime=2s -count 3 .
//
//   - BenchmarkLogins/{sqlite,postgres}/{1replica,2replicas}: whole logins
//     (login route + callback) over loopback HTTP from benchWorkers
//     concurrent browsers, each login a fresh cookie jar; with two replicas
//     the login starts on one App server and the callback lands on the
//     other, both sharing the database. Reports logins/s.
//     BenchmarkLoginsFloor/{sqlite,postgres}: the same concurrency doing
//     the two upstream calls to the fake WeChat and one INSERT with bare
//     net/http and database/sql.
//   - BenchmarkCallbackLatency/{sqlite,postgres}: sequential logins, only
//     the callback timed; reports p50 and p99. BenchmarkCallbackLatencyFloor:
//     the same two upstream calls with bare net/http.
//   - BenchmarkServerMemory10k: heap of one App holding 10,000 WeChat login
//     instances and 10,000 session rows, against the same config bytes in a
//     map plus 10,000 session structs (BenchmarkServerMemory10kFloor).
//
// The postgres variants need PostgreSQL on 127.0.0.1:5432 (user postgres,
// database test, trust auth) and are skipped when it does not answer. Each
// variant works in its own schema, dropped afterwards.
//
// The app, replicas and browsers are those of replicas_test.go.

const (
	benchWorkers = 16 // concurrent browsers in BenchmarkLogins and its floor
	benchUsers   = 200
)

var benchDiscard = slog.New(slog.NewJSONHandler(io.Discard, nil))

// benchDSN returns a fresh database of kind "sqlite" (a file in a temp
// folder) or "postgres" (a new schema on the local server), skipping the
// benchmark when PostgreSQL is not reachable.
func benchDSN(b *testing.B, kind string) string {
	b.Helper()
	if kind == "sqlite" {
		return filepath.Join(b.TempDir(), "bench.db")
	}
	dsn, err := freshPGSchema(b, "jit_bench")
	if err != nil {
		b.Skipf("PostgreSQL on 127.0.0.1:5432 is not usable (%v): skipping the postgres variant", err)
	}
	return dsn
}

// benchFakeWechat is repFakeWechat for benchmarks, with benchUsers users
// so concurrent logins do not all upsert the same row.
func benchFakeWechat(b *testing.B) (*wechatsim.Server, *url.URL, map[string]string, []string) {
	sim, env := repFakeWechat(b)
	var openids []string
	for i := range benchUsers {
		u := wechatsim.User{Nickname: fmt.Sprintf("bench用户%d", i)}
		u.OpenID = wechatsim.OpenIDForNickname(u.Nickname)
		sim.AddUser(u)
		openids = append(openids, u.OpenID)
	}
	base, _ := url.Parse(env["WECHAT_API_BASE"])
	return sim, base, env, openids
}

// benchBrowsers returns fresh browsers (repBrowser: own cookie jar, no
// redirects followed) that share one keep-alive transport, so the load
// generator does not open a connection per request.
func benchBrowsers(b *testing.B) func() *http.Client {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	b.Cleanup(tr.CloseIdleConnections)
	return func() *http.Client {
		c := repBrowser()
		c.Transport = tr
		return c
	}
}

// runPool runs op from benchWorkers goroutines, once per b.Loop iteration,
// and returns the wall time from the first iteration to the last op done.
func runPool(b *testing.B, op func(i int64) error) (time.Duration, int64) {
	var (
		jobs     = make(chan int64, benchWorkers)
		wg       sync.WaitGroup
		done     atomic.Int64
		failed   atomic.Int64
		firstErr error
		errOnce  sync.Once
	)
	for range benchWorkers {
		wg.Go(func() {
			for i := range jobs {
				if err := op(i); err != nil {
					failed.Add(1)
					errOnce.Do(func() { firstErr = err })
					continue
				}
				done.Add(1)
			}
		})
	}
	start := time.Now()
	var i int64
	for b.Loop() {
		jobs <- i
		i++
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		b.Fatalf("%d of %d operations failed; first: %v", failed.Load(), i, firstErr)
	}
	return elapsed, done.Load()
}

func BenchmarkLogins(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			b.Run("1replica", func(b *testing.B) { benchLogins(b, kind, 1) })
			b.Run("2replicas", func(b *testing.B) { benchLogins(b, kind, 2) })
		})
	}
}

func benchLogins(b *testing.B, kind string, replicas int) {
	dsn := benchDSN(b, kind)
	sim, _, env, openids := benchFakeWechat(b)
	reps := make([]*replica, replicas)
	for i := range reps {
		reps[i] = startReplica(b, dsn, env, jit.WithLogger(benchDiscard), manyBrowsersOneAddress)
	}
	browser := benchBrowsers(b)
	elapsed, n := runPool(b, func(i int64) error {
		// With two replicas the login starts on one and the callback lands
		// on the other, as behind a load balancer without affinity.
		start, land := reps[i%int64(replicas)], reps[(i+1)%int64(replicas)]
		c := browser()
		state, err := repStartLogin(b, c, start.srv.URL)
		if err != nil {
			return err
		}
		code := sim.IssueCode(replicaAppID, openids[i%benchUsers], "snsapi_userinfo")
		status, loc, err := repFinishLogin(c, land.srv.URL, code, state)
		if err != nil {
			return err
		}
		if status != http.StatusFound || loc != "/done" {
			return fmt.Errorf("callback: %d %q", status, loc)
		}
		return nil
	})
	b.ReportMetric(float64(n)/elapsed.Seconds(), "logins/s")
}

// floorDB is the floor's bare database/sql handle and its one INSERT.
type floorDB struct {
	db     *sql.DB
	insert string
}

func openFloorDB(b *testing.B, kind, dsn string) *floorDB {
	b.Helper()
	var (
		db       *sql.DB
		err      error
		create   string
		insert   string
		maxConns int
	)
	if kind == "sqlite" {
		// The App's SQLite settings (WAL, synchronous=NORMAL) and pool cap.
		db, err = sql.Open("sqlite3", dsn+"?_journal_mode=WAL&_busy_timeout=10000&_synchronous=NORMAL")
		create = `CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, app_id TEXT, open_id TEXT,
			union_id TEXT, nickname TEXT, head_img_url TEXT, access_token TEXT, refresh_token TEXT, expires_at DATETIME)`
		insert = `INSERT INTO users (app_id, open_id, union_id, nickname, head_img_url, access_token, refresh_token, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
		maxConns = 4
	} else {
		db, err = sql.Open("pgx", dsn)
		create = `CREATE TABLE users (id BIGSERIAL PRIMARY KEY, app_id TEXT, open_id TEXT,
			union_id TEXT, nickname TEXT, head_img_url TEXT, access_token TEXT, refresh_token TEXT, expires_at TIMESTAMPTZ)`
		insert = `INSERT INTO users (app_id, open_id, union_id, nickname, head_img_url, access_token, refresh_token, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
		maxConns = 16 // one App's cap
	}
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	b.Cleanup(func() { db.Close() })
	if _, err := db.Exec(create); err != nil {
		b.Fatal(err)
	}
	return &floorDB{db: db, insert: insert}
}

type floorToken struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	OpenID       string `json:"openid"`
}

type floorUser struct {
	OpenID     string `json:"openid"`
	Nickname   string `json:"nickname"`
	HeadImgURL string `json:"headimgurl"`
	UnionID    string `json:"unionid"`
}

// floorUpstream is the least a callback must ask WeChat: the code exchange
// and userinfo, with bare net/http + encoding/json and the App's default
// client (http.DefaultTransport, 10s timeout).
func floorUpstream(client *http.Client, wx, code string) (floorToken, floorUser, error) {
	var (
		tok  floorToken
		info floorUser
	)
	getJSON := func(u string, v any) error {
		resp, err := client.Get(u)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(v)
	}
	if err := getJSON(wx+"/sns/oauth2/access_token?"+url.Values{"appid": {replicaAppID}, "secret": {replicaSecret},
		"code": {code}, "grant_type": {"authorization_code"}}.Encode(), &tok); err != nil {
		return tok, info, err
	}
	if err := getJSON(wx+"/sns/userinfo?"+url.Values{"access_token": {tok.AccessToken}, "openid": {tok.OpenID},
		"lang": {"zh_CN"}}.Encode(), &info); err != nil {
		return tok, info, err
	}
	if info.OpenID == "" || info.OpenID != tok.OpenID {
		return tok, info, fmt.Errorf("userinfo: %+v for token %+v", info, tok)
	}
	return tok, info, nil
}

func BenchmarkLoginsFloor(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			fdb := openFloorDB(b, kind, benchDSN(b, kind))
			sim, wx, _, openids := benchFakeWechat(b)
			client := &http.Client{Timeout: 10 * time.Second}
			elapsed, n := runPool(b, func(i int64) error {
				code := sim.IssueCode(replicaAppID, openids[i%benchUsers], "snsapi_userinfo")
				tok, info, err := floorUpstream(client, wx.String(), code)
				if err != nil {
					return err
				}
				_, err = fdb.db.Exec(fdb.insert, replicaAppID, info.OpenID, info.UnionID, info.Nickname, info.HeadImgURL,
					tok.AccessToken, tok.RefreshToken, time.Now().Add(time.Duration(tok.ExpiresIn)*time.Second))
				return err
			})
			b.ReportMetric(float64(n)/elapsed.Seconds(), "logins/s")
		})
	}
}

// reportPercentiles reports the nearest-rank p50 and p99 of lat.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		b.Fatal("no samples")
	}
	slices.Sort(lat)
	rank := func(p float64) time.Duration {
		i := int(float64(len(lat))*p+0.999999) - 1
		return lat[min(max(i, 0), len(lat)-1)]
	}
	b.ReportMetric(float64(rank(0.50))/float64(time.Microsecond), "p50-µs")
	b.ReportMetric(float64(rank(0.99))/float64(time.Microsecond), "p99-µs")
}

func BenchmarkCallbackLatency(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			dsn := benchDSN(b, kind)
			sim, _, env, openids := benchFakeWechat(b)
			r := startReplica(b, dsn, env, jit.WithLogger(benchDiscard), manyBrowsersOneAddress)
			browser := benchBrowsers(b)
			var lat []time.Duration
			for b.Loop() {
				// A fresh browser starts the login (not timed)...
				b.StopTimer()
				c := browser()
				state, err := repStartLogin(b, c, r.srv.URL)
				if err != nil {
					b.Fatal(err)
				}
				code := sim.IssueCode(replicaAppID, openids[len(lat)%benchUsers], "snsapi_userinfo")
				b.StartTimer()
				// ...and only its callback is timed.
				t0 := time.Now()
				status, loc, err := repFinishLogin(c, r.srv.URL, code, state)
				lat = append(lat, time.Since(t0))
				if err != nil || status != http.StatusFound || loc != "/done" {
					b.Fatalf("callback: %d %q %v", status, loc, err)
				}
			}
			reportPercentiles(b, lat)
		})
	}
}

func BenchmarkCallbackLatencyFloor(b *testing.B) {
	sim, wx, _, openids := benchFakeWechat(b)
	client := &http.Client{Timeout: 10 * time.Second}
	var lat []time.Duration
	for b.Loop() {
		b.StopTimer()
		code := sim.IssueCode(replicaAppID, openids[len(lat)%benchUsers], "snsapi_userinfo")
		b.StartTimer()
		t0 := time.Now()
		_, _, err := floorUpstream(client, wx.String(), code)
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
	}
	reportPercentiles(b, lat)
}

const memInstances = 10_000

// memApp writes an app of n WeChat login instances (auths/loginTypes/
// LoginNNNNN, appId wx%016x, secret from {{WECHAT_APP_SECRET}}) into a temp
// folder and returns it with the paths of the n config files.
func memApp(b *testing.B, n int) (string, []string) {
	b.Helper()
	dir := b.TempDir()
	configs := make([]string, 0, n)
	for i := range n {
		name := fmt.Sprintf("Login%05d", i)
		folder := filepath.Join(dir, "auths", "loginTypes", name)
		if err := os.MkdirAll(folder, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(folder, "e.json"),
			fmt.Appendf(nil, `{"title":"login %d","type":"auths.loginTypes.WechatPublicType"}`, i), 0o644); err != nil {
			b.Fatal(err)
		}
		config := filepath.Join(folder, name+".json")
		if err := os.WriteFile(config,
			fmt.Appendf(nil, `{"appId":"wx%016x","appSecret":"{{WECHAT_APP_SECRET}}"}`, i), 0o644); err != nil {
			b.Fatal(err)
		}
		configs = append(configs, config)
	}
	return dir, configs
}

// memSession is the i-th of the 10,000 sessions: one per instance.
func memSession(i int, now time.Time) models.Session {
	return models.Session{
		IDHash:     fmt.Sprintf("%064x", i),
		LoginType:  fmt.Sprintf("auths.loginTypes.Login%05d", i),
		AppID:      fmt.Sprintf("wx%016x", i),
		OpenID:     wechatsim.OpenIDForNickname(fmt.Sprint("mem", i)),
		LoginState: fmt.Sprintf("%043d", i),
		CreatedAt:  now,
		ExpiresAt:  now.Add(24 * time.Hour),
	}
}

// heapInuse is HeapInuse after two GCs (the second also empties sync.Pools).
func heapInuse() uint64 {
	var ms goruntime.MemStats
	goruntime.GC()
	goruntime.GC()
	goruntime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// reportHeap is the memory benchmarks' b.Loop: it only re-reads the heap,
// and reports the after-GC figure measured before it.
func reportHeap(b *testing.B, base, heap uint64) {
	var ms goruntime.MemStats
	for b.Loop() {
		goruntime.ReadMemStats(&ms)
	}
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	b.ReportMetric((float64(heap)-float64(base))/(1<<20), "added-heap-MiB")
}

func BenchmarkServerMemory10k(b *testing.B) {
	dir, _ := memApp(b, memInstances)
	dbPath := filepath.Join(b.TempDir(), "mem.db")
	base := heapInuse()
	app, err := jit.Open(context.Background(), dir, jit.WithoutReload(), jit.WithDatabase(dbPath),
		jit.WithLogger(benchDiscard),
		jit.WithLookupEnv(func(k string) (string, bool) {
			if k == "WECHAT_APP_SECRET" {
				return replicaSecret, true
			}
			return "", false
		}))
	if err != nil {
		b.Fatal(err)
	}
	defer app.Close()
	if ps := app.Problems(); ps.HasErrors() {
		b.Fatalf("problems: %v", ps)
	}
	if _, ok := app.Lookup(fmt.Sprintf("auths.loginTypes.Login%05d", memInstances-1)); !ok {
		b.Fatal("the last instance is not loaded")
	}
	now := time.Now()
	rows := make([]models.Session, memInstances)
	for i := range rows {
		rows[i] = memSession(i, now)
	}
	if err := app.DB().CreateInBatches(rows, 500).Error; err != nil {
		b.Fatal(err)
	}
	var count int64
	if err := app.DB().Model(&models.Session{}).Count(&count).Error; err != nil || count != memInstances {
		b.Fatalf("%d sessions, %v", count, err)
	}
	rows = nil
	heap := heapInuse()
	reportHeap(b, base, heap)
	goruntime.KeepAlive(app)
}

func BenchmarkServerMemory10kFloor(b *testing.B) {
	_, configs := memApp(b, memInstances)
	base := heapInuse()
	files := make(map[string][]byte, len(configs))
	for _, p := range configs {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		files[p] = bytes.Clone(data) // exactly the bytes, not ReadFile's 512-byte minimum
	}
	now := time.Now()
	sessions := make([]models.Session, memInstances)
	for i := range sessions {
		sessions[i] = memSession(i, now)
	}
	heap := heapInuse()
	reportHeap(b, base, heap)
	goruntime.KeepAlive(files)
	goruntime.KeepAlive(sessions)
}
