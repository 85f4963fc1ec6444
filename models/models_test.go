package models

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

const pgAddr = "127.0.0.1:5432"

type testDB struct {
	name string
	open func(t *testing.T) *gorm.DB
}

func testDBs() []testDB {
	return []testDB{
		{"sqlite", openSQLite},
		{"postgres", openPostgres},
	}
}

func openSQLite(t *testing.T) *gorm.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nested", "dir", "jit.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			_ = s.Close()
		}
	})
	if err := Migrate(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	t.Logf("database: sqlite file %s", path)
	return db
}

// openPostgres gives each test its own schema in db "test", dropped afterwards.
func openPostgres(t *testing.T) *gorm.DB {
	t.Helper()
	conn, err := net.DialTimeout("tcp", pgAddr, 2*time.Second)
	if err != nil {
		t.Skipf("postgres at %s does not answer: %v", pgAddr, err)
	}
	_ = conn.Close()
	ctx := t.Context()
	admin, err := Open(ctx, "postgres://postgres@"+pgAddr+"/test?sslmode=disable")
	if err != nil {
		t.Skipf("postgres at %s not usable: %v", pgAddr, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "jit_models_test_" + hex.EncodeToString(b)
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatalf("create schema: %v", err)
	}
	db, err := Open(ctx, "postgres://postgres@"+pgAddr+"/test?sslmode=disable&search_path="+schema)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			_ = s.Close()
		}
		if err := admin.Exec("DROP SCHEMA " + schema + " CASCADE").Error; err != nil {
			t.Errorf("drop schema: %v", err)
		}
		if s, err := admin.DB(); err == nil {
			_ = s.Close()
		}
	})
	if err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	t.Logf("database: postgres %s schema %s", pgAddr, schema)
	return db
}

func countRows(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&WechatPublicAuthModel{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConcurrentUpsert(t *testing.T) {
	for _, tdb := range testDBs() {
		t.Run(tdb.name, func(t *testing.T) {
			db := tdb.open(t)
			ctx := t.Context()

			t.Run("same user 100x", func(t *testing.T) {
				var wg sync.WaitGroup
				errs := make(chan error, 100)
				ids := make(chan uint, 100)
				for i := range 100 {
					wg.Go(func() {
						m := &WechatPublicAuthModel{AppID: "wxsame", OpenID: "o-same", Nickname: fmt.Sprintf("n%d", i), AccessToken: fmt.Sprintf("at%d", i)}
						if err := UpsertWechatUser(ctx, db, m); err != nil {
							errs <- err
							return
						}
						ids <- m.ID
					})
				}
				wg.Wait()
				close(errs)
				close(ids)
				for err := range errs {
					t.Errorf("upsert: %v", err)
				}
				var first uint
				for id := range ids {
					if first == 0 {
						first = id
					}
					if id == 0 || id != first {
						t.Errorf("upsert returned id %d, want the single row's id %d", id, first)
					}
				}
				var n int64
				db.Model(&WechatPublicAuthModel{}).Where("app_id = ?", "wxsame").Count(&n)
				if n != 1 {
					t.Fatalf("rows for same user = %d, want 1", n)
				}
			})

			t.Run("200 distinct users", func(t *testing.T) {
				var wg sync.WaitGroup
				errs := make(chan error, 200)
				for i := range 200 {
					wg.Go(func() {
						m := &WechatPublicAuthModel{AppID: "wxmany", OpenID: fmt.Sprintf("o-%03d", i), Nickname: "小明😀"}
						if err := UpsertWechatUser(ctx, db, m); err != nil {
							errs <- err
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Errorf("upsert: %v", err)
				}
				var n int64
				db.Model(&WechatPublicAuthModel{}).Where("app_id = ?", "wxmany").Count(&n)
				if n != 200 {
					t.Fatalf("rows = %d, want 200", n)
				}
			})
		})
	}
}

func TestUpsertFindClear(t *testing.T) {
	for _, tdb := range testDBs() {
		t.Run(tdb.name, func(t *testing.T) {
			db := tdb.open(t)
			ctx := t.Context()
			exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

			first := &WechatPublicAuthModel{
				AppID: "wxapp", OpenID: "o1", LoginType: "login.wechat", UnionID: "u1",
				Nickname: "小明😀", HeadImgURL: "https://x/1.svg", Sex: 1, Province: "广东",
				AccessToken: "at1", RefreshToken: "rt1", ExpiresIn: 7200, TokenExpiresAt: exp, RefreshExpiresAt: exp, Scope: "snsapi_userinfo",
				ID: 9999, // must be ignored: the conflict target is (app_id, open_id)
			}
			if err := UpsertWechatUser(ctx, db, first); err != nil {
				t.Fatal(err)
			}
			if first.ID == 0 || first.ID == 9999 || first.CreatedAt.IsZero() {
				t.Fatalf("after insert: id=%d created=%v", first.ID, first.CreatedAt)
			}

			tests := []struct {
				name     string
				in       WechatPublicAuthModel
				opts     []UpsertOption
				wantNick string
				wantUID  string
				wantAT   string
				wantSc   string
			}{
				{"base login keeps profile", WechatPublicAuthModel{AppID: "wxapp", OpenID: "o1", AccessToken: "at2", Scope: "snsapi_base"}, []UpsertOption{PreserveProfile()}, "小明😀", "u1", "at2", "snsapi_base"},
				{"full login replaces profile", WechatPublicAuthModel{AppID: "wxapp", OpenID: "o1", Nickname: "新名字", AccessToken: "at3", Scope: "snsapi_userinfo"}, nil, "新名字", "", "at3", "snsapi_userinfo"},
				{"preserve still sets unionid", WechatPublicAuthModel{AppID: "wxapp", OpenID: "o1", UnionID: "u9", AccessToken: "at4", Scope: "snsapi_base"}, []UpsertOption{PreserveProfile()}, "新名字", "u9", "at4", "snsapi_base"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					m := tc.in
					if err := UpsertWechatUser(ctx, db, &m, tc.opts...); err != nil {
						t.Fatal(err)
					}
					if m.ID != first.ID || !m.CreatedAt.Equal(first.CreatedAt) {
						t.Errorf("id = %d created %v, want %d %v (the stored row's)", m.ID, m.CreatedAt, first.ID, first.CreatedAt)
					}
					got, err := FindWechatUser(ctx, db, "wxapp", "o1")
					if err != nil {
						t.Fatal(err)
					}
					if got.Nickname != tc.wantNick || got.UnionID != tc.wantUID || got.AccessToken != tc.wantAT || got.Scope != tc.wantSc {
						t.Errorf("got nick=%q union=%q at=%q scope=%q", got.Nickname, got.UnionID, got.AccessToken, got.Scope)
					}
					if !got.CreatedAt.Equal(first.CreatedAt) {
						t.Errorf("created_at changed: %v -> %v", first.CreatedAt, got.CreatedAt)
					}
				})
			}
			if n := countRows(t, db); n != 1 {
				t.Fatalf("rows = %d, want 1", n)
			}

			if err := ClearWechatTokens(ctx, db, "wxapp", "o1"); err != nil {
				t.Fatal(err)
			}
			got, err := FindWechatUser(ctx, db, "wxapp", "o1")
			if err != nil {
				t.Fatal(err)
			}
			if got.AccessToken != "" || got.RefreshToken != "" || !got.TokenExpiresAt.IsZero() || got.Nickname != "新名字" {
				t.Errorf("after clear: %+v", got)
			}

			for _, c := range []struct{ app, open string }{{"wxapp", "nobody"}, {"other", "o1"}} {
				if _, err := FindWechatUser(ctx, db, c.app, c.open); !errors.Is(err, ErrNotFound) {
					t.Errorf("find %s/%s: err = %v, want ErrNotFound", c.app, c.open, err)
				}
				if err := ClearWechatTokens(ctx, db, c.app, c.open); !errors.Is(err, ErrNotFound) {
					t.Errorf("clear %s/%s: err = %v, want ErrNotFound", c.app, c.open, err)
				}
			}
			if err := UpsertWechatUser(ctx, db, &WechatPublicAuthModel{AppID: "wxapp"}); err == nil {
				t.Error("upsert without openid succeeded")
			}
		})
	}
}

func TestOpen(t *testing.T) {
	if _, err := Open(t.Context(), ""); !errors.Is(err, ErrEmptyDSN) {
		t.Errorf("empty dsn: err = %v", err)
	}

	dsnTests := []struct{ in, want string }{
		{"/a/b.db", "/a/b.db?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_txlock=immediate&_synchronous=NORMAL"},
		{"/a/b.db?_busy_timeout=5", "/a/b.db?_busy_timeout=5&_journal_mode=WAL&_foreign_keys=on&_txlock=immediate&_synchronous=NORMAL"},
	}
	for _, tc := range dsnTests {
		if strings.HasPrefix(tc.in, "/a/") {
			tc.in = filepath.Join(t.TempDir(), tc.in)
			tc.want = filepath.Join(filepath.Dir(tc.in), tc.want[len("/a/"):])
		}
		got, err := sqliteDSN(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("sqliteDSN(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}

	if got := redactDSN("postgres://u:hunter2@h:5432/db"); strings.Contains(got, "hunter2") {
		t.Errorf("redactDSN leaked password: %s", got)
	}

	// The slog adapter must never print bound values (tokens).
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "log.db"), WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s, _ := db.DB(); _ = s.Close() }()
	if err := Migrate(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	secret := "tok-SECRET-123456"
	if err := UpsertWechatUser(t.Context(), db, &WechatPublicAuthModel{AppID: "a", OpenID: "o", AccessToken: secret, RefreshToken: secret}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "INSERT INTO") {
		t.Fatalf("expected debug SQL in log, got %q", buf.String())
	}
	if strings.Contains(buf.String(), secret) {
		t.Fatalf("log contains a bound token: %s", buf.String())
	}
}

// Accounts stored before users existed get a user each on the next
// Migrate; accounts sharing a unionid share the user; a second Migrate
// changes nothing.
func TestMigrateGivesOldAccountsUsers(t *testing.T) {
	for _, b := range testDBs() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			ctx := t.Context()
			old := []WechatPublicAuthModel{
				{AppID: "wxA", OpenID: "o1", UnionID: "u1", Nickname: "甲", HeadImgURL: "https://a/1"},
				{AppID: "wxB", OpenID: "o1b", UnionID: "u1", Nickname: "甲"},
				{AppID: "wxA", OpenID: "o2", Nickname: "乙"},
			}
			for i := range old {
				if err := UpsertWechatUser(ctx, db, &old[i]); err != nil {
					t.Fatal(err)
				}
			}
			for range 2 {
				if err := Migrate(ctx, db); err != nil {
					t.Fatal(err)
				}
			}
			var ids []Identity
			if err := db.Order("id").Find(&ids).Error; err != nil {
				t.Fatal(err)
			}
			var users []User
			if err := db.Find(&users).Error; err != nil {
				t.Fatal(err)
			}
			if len(ids) != 3 || len(users) != 2 || ids[0].UserID != ids[1].UserID || ids[0].UserID == ids[2].UserID {
				t.Fatalf("identities %+v users %+v", ids, users)
			}
			for _, a := range old {
				got, err := FindWechatUser(ctx, db, a.AppID, a.OpenID)
				if err != nil || got.UserID == "" {
					t.Errorf("account %s/%s: %+v %v", a.AppID, a.OpenID, got, err)
				}
			}
		})
	}
}
