package services

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jitwx/jit/models"
)

// With a cipher, the database holds only sealed tokens, and the service
// still hands out and refreshes the plain ones.
func TestTokensAreStoredEncrypted(t *testing.T) {
	e := newEnv(t)
	c, err := models.NewTokenCipher(strings.Repeat("k", 40))
	if err != nil {
		t.Fatal(err)
	}
	s := e.svc(WechatConfig{}, WithTokenCipher(c))
	tok, err := s.GetAccessToken(t.Context(), e.sim.IssueCode(testAppID, plainUser.OpenID, "snsapi_userinfo"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	row, err := models.FindWechatUser(t.Context(), e.db, testAppID, plainUser.OpenID)
	if err != nil {
		t.Fatal(err)
	}
	for _, stored := range []string{row.AccessToken, row.RefreshToken} {
		if !strings.HasPrefix(stored, "v1:") || strings.Contains(stored, tok.AccessToken) || strings.Contains(stored, tok.RefreshToken) {
			t.Fatalf("token stored in the clear: %q", stored)
		}
	}
	got, err := s.ValidAccessToken(t.Context(), plainUser.OpenID)
	if err != nil || got != tok.AccessToken {
		t.Fatalf("ValidAccessToken = %q, %v; want the plain token", got, err)
	}

	e.clock.Advance(3 * time.Hour) // past expiry: a refresh with the decrypted refresh token
	fresh, err := s.ValidAccessToken(t.Context(), plainUser.OpenID)
	if err != nil || fresh == tok.AccessToken || strings.HasPrefix(fresh, "v1:") {
		t.Fatalf("after expiry: %q, %v", fresh, err)
	}
	if err := s.CheckAccessToken(t.Context(), fresh, plainUser.OpenID); err != nil {
		t.Fatalf("refreshed token rejected by WeChat: %v", err)
	}

	if _, err := e.svc(WechatConfig{}).ValidAccessToken(t.Context(), plainUser.OpenID); !errors.Is(err, models.ErrKeyMissing) {
		t.Fatalf("sealed tokens read with no cipher: %v", err)
	}
	other, _ := models.NewTokenCipher(strings.Repeat("x", 40))
	if _, err := e.svc(WechatConfig{}, WithTokenCipher(other)).ValidAccessToken(t.Context(), plainUser.OpenID); !errors.Is(err, models.ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestObserverSeesEveryAttempt(t *testing.T) {
	e := newEnv(t)
	var seen []string
	s := e.svc(WechatConfig{}, WithObserver(func(endpoint string, took time.Duration, err error) {
		seen = append(seen, fmt.Sprintf("%s ok=%v", endpoint, err == nil))
	}))
	if _, err := s.GetAccessToken(t.Context(), "no-such-code"); err == nil {
		t.Fatal("bad code accepted")
	}
	if _, err := s.GetUserInfo(t.Context(), e.sim.IssueCode(testAppID, plainUser.OpenID, "snsapi_userinfo")); err != nil {
		t.Fatal(err)
	}
	want := "sns/oauth2/access_token ok=false,sns/oauth2/access_token ok=true,sns/userinfo ok=true"
	if got := strings.Join(seen, ","); got != want {
		t.Fatalf("observed %s\nwant     %s", got, want)
	}
}
