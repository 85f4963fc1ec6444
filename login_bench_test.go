package jit_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/auths/wechatsim"
	"github.com/jitwx/jit/models"
)

// The WeChat login callback benchmarks (issue 3; results in BENCHMARKS.md):
//
//	go test -run '^$' -bench 'BenchmarkCallback' -count 6 -benchtime 2s .
//
// BenchmarkCallback is one callback through app.Handler() in process, by a
// returning user (userPanda, logging in again and again): the state claim
// (one UPDATE … RETURNING, commit 1), the code exchange and userinfo
// against the fake WeChat over loopback HTTP, the user's lookup, and one
// transaction that upserts the identity and the WeChat token row and
// inserts the session (commit 2); then the session cookie and the 302. The
// login route that precedes it (state row, binding cookie) runs with the
// timer stopped. BenchmarkCallbackNewUser is the same for a first-time
// user (a new WeChat user each iteration), whose commit 2 also creates the
// user.
//
// BenchmarkCallbackFloor is the least any implementation must do for the
// same callback, with bare net/http + encoding/json and database/sql:
//
//   - the same two upstream calls (GET sns/oauth2/access_token, GET
//     sns/userinfo) to the same fake WeChat, on a keep-alive client like
//     the App's (http.DefaultTransport cloned, 64 idle connections per
//     host, 10s timeout);
//   - commit 1: one autocommit UPDATE … RETURNING of a login-state row
//     inserted beforehand with the timer stopped, as the App claims it;
//   - commit 2: one transaction (BEGIN IMMEDIATE) with two statements: an
//     upsert of the user's one row (identity, profile and tokens: the
//     App's wechat_public_auth row, RETURNING its user id) and the insert
//     of the session row.
//
// It runs on SQLite with the App's settings: the file is opened by
// models.Open (WAL, busy_timeout, synchronous=NORMAL, txlock=immediate,
// foreign keys, a pool of 4) and migrated by models.Migrate, so its tables
// and indexes are the App's own; only the *sql.DB underneath is used, with
// statements prepared once (the App prepares SQLite statements too).
// BenchmarkCallbackNewUserFloor is the floor with a new user every time
// (its upsert inserts). Goal: BenchmarkCallback reaches at least 0.7x the
// floor's throughput.

func BenchmarkCallback(b *testing.B)        { benchCallback(b, false) }
func BenchmarkCallbackNewUser(b *testing.B) { benchCallback(b, true) }

// newBenchUser is the i-th first-time WeChat user of the NewUser variants.
func newBenchUser(i int) wechatsim.User {
	u := wechatsim.User{Nickname: fmt.Sprintf("新用户%d", i), HeadImgURL: "https://thirdwx.qlogo.cn/mmopen/vi_32/new/132"}
	u.OpenID = wechatsim.OpenIDForNickname(u.Nickname)
	return u
}

// benchCallback times callbacks by userPanda or, with newUsers, each by a
// new WeChat user (added to the fake with the timer stopped).
func benchCallback(b *testing.B, newUsers bool) {
	e := newLoginEnv(b, envOptions{opts: []jit.Option{manyBrowsersOneAddress,
		// What a server logs at its default level, formatted but not kept.
		jit.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))),
	}})
	h := e.app.Handler()
	loginURL := loginPath(mainLogin, "/after")
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		// A fresh browser starts the login (not timed: the goal is about
		// the callback)...
		b.StopTimer()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, loginURL, nil))
		if rec.Code != http.StatusFound {
			b.Fatalf("login: %d %s", rec.Code, rec.Body)
		}
		loc, err := url.Parse(rec.Header().Get("Location"))
		if err != nil {
			b.Fatal(err)
		}
		var bind *http.Cookie
		for _, c := range rec.Result().Cookies() {
			if c.Name == auths.BindingCookie {
				bind = c
			}
		}
		// ...consents on WeChat, and comes back.
		openid := userPanda.OpenID
		if newUsers {
			u := newBenchUser(i)
			e.sim.AddUser(u)
			openid = u.OpenID
		}
		i++
		code := e.sim.IssueCode(testAppID, openid, "snsapi_userinfo")
		req := httptest.NewRequest(http.MethodGet, callbackPath(mainLogin, code, loc.Query().Get("state")), nil)
		req.AddCookie(bind)
		rec = httptest.NewRecorder()
		b.StartTimer()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/after" {
			b.Fatalf("callback: %d %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkCallbackFloor(b *testing.B)        { benchCallbackFloor(b, false) }
func BenchmarkCallbackNewUserFloor(b *testing.B) { benchCallbackFloor(b, true) }

// The floor's statements, on the App's tables.
const (
	floorInsertState = `INSERT INTO jit_login_states (state, login_type, binding_hash, redirect_url, status,
		created_at, expires_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)`
	floorClaim = `UPDATE jit_login_states SET status = 'exchanging', code_hash = ?, used_at = ?
		WHERE state = ? AND status = 'pending' AND login_type = ? AND binding_hash = ? AND expires_at > ?
		RETURNING redirect_url, bind_user_id`
	floorUpsertUser = `INSERT INTO wechat_public_auth (app_id, open_id, login_type, union_id, user_id, nickname,
		head_img_url, province, city, country, sex, access_token, refresh_token, expires_in, token_expires_at,
		refresh_expires_at, scope, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (app_id, open_id) DO UPDATE SET login_type = excluded.login_type, union_id = excluded.union_id,
		nickname = excluded.nickname, head_img_url = excluded.head_img_url, province = excluded.province,
		city = excluded.city, country = excluded.country, sex = excluded.sex, access_token = excluded.access_token,
		refresh_token = excluded.refresh_token, expires_in = excluded.expires_in,
		token_expires_at = excluded.token_expires_at, refresh_expires_at = excluded.refresh_expires_at,
		scope = excluded.scope, updated_at = excluded.updated_at
		RETURNING user_id`
	floorInsertSession = `INSERT INTO jit_sessions (id_hash, id, user_id, login_type, app_id, open_id, user_agent,
		login_state, dup_seal, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

func benchCallbackFloor(b *testing.B, newUsers bool) {
	sim := wechatsim.New(wechatsim.WithApp(testAppID, testSecret), wechatsim.WithUsers(userPanda))
	wx := newLoopbackServer(b, sim)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 64
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Timeout: 10 * time.Second, Transport: tr}

	// The App's SQLite settings, pool and tables; then bare database/sql.
	ctx := context.Background()
	gdb, err := models.Open(ctx, filepath.Join(b.TempDir(), "floor.db"))
	if err != nil {
		b.Fatal(err)
	}
	if err := models.Migrate(ctx, gdb); err != nil {
		b.Fatal(err)
	}
	db, err := gdb.DB()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	prepare := func(q string) *sql.Stmt {
		st, err := db.Prepare(q)
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
	insertState, claim := prepare(floorInsertState), prepare(floorClaim)
	upsertUser, insertSession := prepare(floorUpsertUser), prepare(floorInsertSession)

	const loginType = "auths.loginTypes." + mainLogin
	binding := sha256Hex(rand.Text())
	getJSON := func(u string, v any) {
		resp, err := client.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		// The login's state row and the consent, not timed.
		b.StopTimer()
		state, now := rand.Text(), time.Now()
		if _, err := insertState.Exec(state, loginType, binding, "/after", now, now.Add(10*time.Minute)); err != nil {
			b.Fatal(err)
		}
		openid := userPanda.OpenID
		if newUsers {
			u := newBenchUser(i)
			sim.AddUser(u)
			openid = u.OpenID
		}
		i++
		code := sim.IssueCode(testAppID, openid, "snsapi_userinfo")
		b.StartTimer()

		// Commit 1: claim the state.
		now = time.Now()
		var redirect, bindUser string
		if err := claim.QueryRow(sha256Hex(code), now, state, loginType, binding, now).Scan(&redirect, &bindUser); err != nil {
			b.Fatal(err)
		}
		// The two upstream calls.
		var tok struct {
			AccessToken  string `json:"access_token"`
			ExpiresIn    int    `json:"expires_in"`
			RefreshToken string `json:"refresh_token"`
			OpenID       string `json:"openid"`
			Scope        string `json:"scope"`
			UnionID      string `json:"unionid"`
		}
		getJSON(wx.URL+"/sns/oauth2/access_token?"+url.Values{"appid": {testAppID}, "secret": {testSecret},
			"code": {code}, "grant_type": {"authorization_code"}}.Encode(), &tok)
		var info struct {
			OpenID     string `json:"openid"`
			Nickname   string `json:"nickname"`
			HeadImgURL string `json:"headimgurl"`
			Sex        int    `json:"sex"`
			Province   string `json:"province"`
			City       string `json:"city"`
			Country    string `json:"country"`
			UnionID    string `json:"unionid"`
		}
		getJSON(wx.URL+"/sns/userinfo?"+url.Values{"access_token": {tok.AccessToken}, "openid": {tok.OpenID},
			"lang": {"zh_CN"}}.Encode(), &info)
		if info.OpenID != openid || redirect != "/after" {
			b.Fatalf("userinfo %+v, redirect %q", info, redirect)
		}
		// Commit 2: the user's row and the session, in one transaction.
		now = time.Now()
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		var userID string
		if err := tx.Stmt(upsertUser).QueryRow(testAppID, info.OpenID, loginType, info.UnionID, rand.Text(),
			info.Nickname, info.HeadImgURL, info.Province, info.City, info.Country, info.Sex, tok.AccessToken,
			tok.RefreshToken, tok.ExpiresIn, now.Add(time.Duration(tok.ExpiresIn)*time.Second),
			now.Add(30*24*time.Hour), tok.Scope, now, now).Scan(&userID); err != nil {
			b.Fatal(err)
		}
		token := rand.Text()
		if _, err := tx.Stmt(insertSession).Exec(sha256Hex(token), rand.Text(), userID, loginType, testAppID,
			info.OpenID, "", state, sha256Hex(token + binding)[:2*len(token)], now, now,
			now.Add(7*24*time.Hour)); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
