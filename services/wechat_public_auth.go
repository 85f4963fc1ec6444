// Package services holds the application services; WechatPublicAuthSvc is
// the WeChat Official Account web-authorization client of one login element.
package services

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"golang.org/x/sync/singleflight"
	"gorm.io/gorm"

	"github.com/jitwx/jit/models"
)

const (
	endpointAccessToken  = "sns/oauth2/access_token"
	endpointRefreshToken = "sns/oauth2/refresh_token"
	endpointAuth         = "sns/auth"
	endpointUserInfo     = "sns/userinfo"

	// refreshTokenTTL is WeChat's documented refresh-token lifetime, counted
	// from the original authorization.
	refreshTokenTTL = 30 * 24 * time.Hour
	// tokenExpirySkew refreshes a little early so a token handed out is
	// still valid when the caller uses it.
	tokenExpirySkew = time.Minute
)

// AccessToken is WeChat's user access token response.
type AccessToken struct {
	AccessToken    string `json:"access_token"`
	ExpiresIn      int    `json:"expires_in"`
	RefreshToken   string `json:"refresh_token"`
	OpenID         string `json:"openid"`
	Scope          string `json:"scope"`
	UnionID        string `json:"unionid,omitempty"`
	IsSnapshotUser int    `json:"is_snapshotuser,omitempty"`
}

// HasScope reports whether the token's (comma separated) scope includes sc.
func (t *AccessToken) HasScope(sc string) bool {
	for part := range strings.SplitSeq(t.Scope, ",") {
		if strings.TrimSpace(part) == sc {
			return true
		}
	}
	return false
}

// FullProfile reports whether the token may call /sns/userinfo: a
// snsapi_userinfo token (Official Account web authorization) or a
// snsapi_login token (Open Platform website app, QR login) may; a
// snsapi_base token would get 48001.
func (t *AccessToken) FullProfile() bool {
	return t.HasScope("snsapi_userinfo") || t.HasScope("snsapi_login")
}

// UserInfo is a WeChat user profile. For snsapi_base logins only OpenID (and
// UnionID when the token carried one) is set.
type UserInfo struct {
	OpenID     string   `json:"openid"`
	Nickname   string   `json:"nickname"`
	HeadImgURL string   `json:"headimgurl"`
	Sex        int      `json:"sex"`
	Province   string   `json:"province"`
	City       string   `json:"city"`
	Country    string   `json:"country"`
	UnionID    string   `json:"unionid,omitempty"`
	Privilege  []string `json:"privilege,omitempty"`
}

// Option configures a WechatPublicAuthSvc.
type Option func(*WechatPublicAuthSvc)

// WithHTTPClient sets the HTTP client (e.g. for a proxy). WeChat's API never
// redirects, and following a redirect would let whatever answers as WeChat
// make the server fetch any address, internal ones included: the service
// uses a copy of c that never follows one (c itself is left as it is), and
// a 3xx answer is an UpstreamError matching ErrRedirect. A nil c keeps the
// default client.
func WithHTTPClient(c *http.Client) Option {
	return func(s *WechatPublicAuthSvc) {
		if c != nil {
			s.client = withoutRedirects(c)
		}
	}
}

// withoutRedirects is a shallow copy of c (same transport, so the same
// connection pool) that never follows a redirect.
func withoutRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = refuseRedirect
	return &cp
}

// refuseRedirect makes a client hand back the 3xx response itself.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// WithTimeout sets the per-attempt timeout (default 5s).
func WithTimeout(d time.Duration) Option {
	return func(s *WechatPublicAuthSvc) { s.timeout = d }
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option {
	return func(s *WechatPublicAuthSvc) { s.log = l }
}

// WithClock sets the clock used for token expiry.
func WithClock(now func() time.Time) Option {
	return func(s *WechatPublicAuthSvc) { s.now = now }
}

// WithRetry sets how often errcode -1 is tried (default 3 attempts) and the
// base of the exponential backoff (default 100ms). It never applies to the
// code exchange.
func WithRetry(attempts int, backoff time.Duration) Option {
	return func(s *WechatPublicAuthSvc) {
		s.attempts = max(attempts, 1)
		s.backoff = backoff
	}
}

// TokenCipher encrypts tokens before they are stored and decrypts them when
// read (models.TokenCipher).
type TokenCipher interface {
	Seal(plain string) (string, error)
	Open(sealed string) (string, error)
}

// Observer learns of every request to WeChat: its endpoint (such as
// "sns/oauth2/access_token"), how long it took and how it ended. Metrics
// hang off it.
type Observer func(endpoint string, took time.Duration, err error)

// WithObserver sets the Observer.
func WithObserver(o Observer) Option { return func(s *WechatPublicAuthSvc) { s.observe = o } }

// WithTokenCipher stores access and refresh tokens encrypted.
func WithTokenCipher(c TokenCipher) Option {
	return func(s *WechatPublicAuthSvc) { s.cipher = c }
}

// WechatPublicAuthSvc talks to WeChat's sns API for one login element
// instance and stores logged-in users. Safe for concurrent use.
type WechatPublicAuthSvc struct {
	cfg      WechatConfig
	db       *gorm.DB
	client   *http.Client
	timeout  time.Duration
	attempts int
	backoff  time.Duration
	log      *slog.Logger
	now      func() time.Time
	refresh  singleflight.Group
	cipher   TokenCipher
	observe  Observer
}

// sealTokens encrypts a row's tokens in place when a cipher is set.
func (s *WechatPublicAuthSvc) sealTokens(m *models.WechatPublicAuthModel) error {
	if s.cipher == nil {
		return nil
	}
	var err error
	if m.AccessToken, err = s.cipher.Seal(m.AccessToken); err != nil {
		return err
	}
	m.RefreshToken, err = s.cipher.Seal(m.RefreshToken)
	return err
}

// openTokens decrypts a row's tokens in place when a cipher is set.
func (s *WechatPublicAuthSvc) openTokens(m *models.WechatPublicAuthModel) error {
	if s.cipher == nil {
		if models.IsSealed(m.AccessToken) || models.IsSealed(m.RefreshToken) {
			return models.ErrKeyMissing // never hand out ciphertext as a token
		}
		return nil
	}
	var err error
	if m.AccessToken, err = s.cipher.Open(m.AccessToken); err != nil {
		return err
	}
	m.RefreshToken, err = s.cipher.Open(m.RefreshToken)
	return err
}

// findUser reads a stored user with its tokens decrypted.
func (s *WechatPublicAuthSvc) findUser(ctx context.Context, openid string) (*models.WechatPublicAuthModel, error) {
	m, err := models.FindWechatUser(ctx, s.db, s.cfg.AppID, openid)
	if err != nil {
		return nil, err
	}
	if err := s.openTokens(m); err != nil {
		return nil, fmt.Errorf("wechat: stored tokens of %s: %w", openid, err)
	}
	return m, nil
}

// NewWechatPublicAuthSvc builds the service. db may be nil, in which case
// logins are not persisted and ValidAccessToken fails.
func NewWechatPublicAuthSvc(cfg WechatConfig, db *gorm.DB, opts ...Option) *WechatPublicAuthSvc {
	cfg.APIBaseURLs = trimBases(cfg.APIBaseURLs)
	s := &WechatPublicAuthSvc{
		cfg:      cfg,
		db:       db,
		client:   &http.Client{CheckRedirect: refuseRedirect},
		timeout:  5 * time.Second,
		attempts: 3,
		backoff:  100 * time.Millisecond,
		log:      slog.New(slog.DiscardHandler),
		now:      time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	s.log = s.log.With("login_type", s.cfg.LoginType, "appid", s.cfg.AppID)
	return s
}

// Config returns the configuration. It holds
// the secret: pass it around, do not print its fields.
func (s *WechatPublicAuthSvc) Config() WechatConfig {
	c := s.cfg
	c.APIBaseURLs = append([]string(nil), s.cfg.APIBaseURLs...)
	return c
}

func parseToken(endpoint string, res gjson.Result) (*AccessToken, error) {
	tok := &AccessToken{
		AccessToken:    res.Get("access_token").String(),
		ExpiresIn:      int(res.Get("expires_in").Int()),
		RefreshToken:   res.Get("refresh_token").String(),
		OpenID:         res.Get("openid").String(),
		Scope:          res.Get("scope").String(),
		UnionID:        res.Get("unionid").String(),
		IsSnapshotUser: int(res.Get("is_snapshotuser").Int()),
	}
	// An {errcode,errmsg}-less body without a token must not pass as success.
	var missing []string
	if tok.AccessToken == "" {
		missing = append(missing, "access_token")
	}
	if tok.OpenID == "" {
		missing = append(missing, "openid")
	}
	if len(missing) > 0 {
		return nil, &UpstreamError{Endpoint: endpoint, Status: http.StatusOK,
			Err: fmt.Errorf("%w: missing %s", ErrMalformedResponse, strings.Join(missing, ", "))}
	}
	if tok.ExpiresIn <= 0 {
		tok.ExpiresIn = 7200
	}
	// A token cannot outlive its grant; the cap also keeps the expiry time
	// from overflowing (or leaving PostgreSQL's timestamp range).
	tok.ExpiresIn = min(tok.ExpiresIn, int(refreshTokenTTL/time.Second))
	if err := checkToken(endpoint, tok); err != nil {
		return nil, err
	}
	return tok, nil
}

// GetAccessToken exchanges an authorization code. It is never retried on
// errcode -1, because a second exchange of the same code gets 40163.
func (s *WechatPublicAuthSvc) GetAccessToken(ctx context.Context, code string) (*AccessToken, error) {
	if code == "" {
		return nil, errors.New("wechat: empty authorization code")
	}
	res, err := s.call(ctx, endpointAccessToken, url.Values{
		"appid":      {s.cfg.AppID},
		"secret":     {s.cfg.AppSecret},
		"code":       {code},
		"grant_type": {"authorization_code"},
	}, false)
	if err != nil {
		return nil, err
	}
	return parseToken(endpointAccessToken, res)
}

// RefreshToken gets a new access token with a refresh token.
func (s *WechatPublicAuthSvc) RefreshToken(ctx context.Context, refreshToken string) (*AccessToken, error) {
	if refreshToken == "" {
		return nil, fmt.Errorf("wechat: empty refresh token: %w", ErrReauthorize)
	}
	res, err := s.call(ctx, endpointRefreshToken, url.Values{
		"appid":         {s.cfg.AppID},
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
	}, true)
	if err != nil {
		return nil, err
	}
	return parseToken(endpointRefreshToken, res)
}

// CheckAccessToken asks WeChat whether accessToken is valid for openid.
func (s *WechatPublicAuthSvc) CheckAccessToken(ctx context.Context, accessToken, openid string) error {
	_, err := s.call(ctx, endpointAuth, url.Values{"access_token": {accessToken}, "openid": {openid}}, true)
	return err
}

func (s *WechatPublicAuthSvc) userInfo(ctx context.Context, accessToken, openid string) (*UserInfo, error) {
	params := url.Values{"access_token": {accessToken}, "openid": {openid}}
	if s.cfg.Lang != "" {
		params.Set("lang", s.cfg.Lang)
	}
	res, err := s.call(ctx, endpointUserInfo, params, true)
	if err != nil {
		return nil, err
	}
	info := &UserInfo{
		OpenID:     res.Get("openid").String(),
		Nickname:   res.Get("nickname").String(),
		HeadImgURL: res.Get("headimgurl").String(),
		Sex:        int(res.Get("sex").Int()),
		Province:   res.Get("province").String(),
		City:       res.Get("city").String(),
		Country:    res.Get("country").String(),
		UnionID:    res.Get("unionid").String(),
	}
	for _, p := range res.Get("privilege").Array() {
		info.Privilege = append(info.Privilege, p.String())
	}
	if info.OpenID == "" {
		return nil, &UpstreamError{Endpoint: endpointUserInfo, Status: http.StatusOK, Err: fmt.Errorf("%w: missing openid", ErrMalformedResponse)}
	}
	if info.OpenID != openid {
		return nil, &UpstreamError{Endpoint: endpointUserInfo, Status: http.StatusOK, Err: fmt.Errorf("%w: openid differs from the token's", ErrMalformedResponse)}
	}
	if info.UnionID != "" && !validKey(info.UnionID, MaxIDLen) {
		return nil, &UpstreamError{Endpoint: endpointUserInfo, Status: http.StatusOK,
			Err: fmt.Errorf("%w: invalid unionid (%d bytes): ids are printable ASCII of at most %d bytes", ErrMalformedResponse, len(info.UnionID), MaxIDLen)}
	}
	cleanProfile(info)
	return info, nil
}

// GetUserInfo exchanges code and logs the user in; see Login.
func (s *WechatPublicAuthSvc) GetUserInfo(ctx context.Context, code string) (*UserInfo, error) {
	tok, err := s.GetAccessToken(ctx, code)
	if err != nil {
		return nil, err
	}
	return s.Login(ctx, tok)
}

// Login completes a login with an exchanged token: Profile, then SaveLogin
// on the service's database (when it has one) with no app user.
func (s *WechatPublicAuthSvc) Login(ctx context.Context, tok *AccessToken) (*UserInfo, error) {
	info, err := s.Profile(ctx, tok)
	if err != nil || s.db == nil {
		return info, err
	}
	if err := s.SaveLogin(ctx, s.db, tok, info, ""); err != nil {
		return nil, err
	}
	return info, nil
}

// Profile is who an exchanged token belongs to. For snsapi_userinfo and
// snsapi_login (FullProfile) it fetches the profile; a snsapi_base token
// gives openid and unionid only,
// since /sns/userinfo would answer 48001. Snapshot users get
// ErrSnapshotUser: they must be neither looked up nor stored.
func (s *WechatPublicAuthSvc) Profile(ctx context.Context, tok *AccessToken) (*UserInfo, error) {
	if tok == nil || tok.AccessToken == "" || tok.OpenID == "" {
		return nil, errors.New("wechat: login: token without access_token or openid")
	}
	if tok.IsSnapshotUser == 1 {
		s.log.InfoContext(ctx, "wechat snapshot user refused", "openid", tok.OpenID)
		return nil, fmt.Errorf("wechat: login %s: %w", tok.OpenID, ErrSnapshotUser)
	}
	info := &UserInfo{OpenID: tok.OpenID, UnionID: tok.UnionID}
	if !tok.FullProfile() {
		return info, nil
	}
	info, err := s.userInfo(ctx, tok.AccessToken, tok.OpenID)
	if err != nil {
		return nil, err
	}
	if info.UnionID == "" {
		info.UnionID = tok.UnionID
	}
	return info, nil
}

// SaveLogin upserts the account row of a login with its tokens and expiry,
// on db (a transaction of the caller's, or the service's own database),
// attached to the app user userID (empty: none). A login without a profile
// (snsapi_base) keeps the stored one.
func (s *WechatPublicAuthSvc) SaveLogin(ctx context.Context, db *gorm.DB, tok *AccessToken, info *UserInfo, userID string) error {
	// Profile cleaned what came from WeChat; a caller's own values get the
	// same treatment, so what is stored fits either database.
	if !validKey(tok.OpenID, MaxIDLen) || info.UnionID != "" && !validKey(info.UnionID, MaxIDLen) {
		return fmt.Errorf("wechat: login: openid and unionid must be printable ASCII of at most %d bytes", MaxIDLen)
	}
	clean := *info
	clean.Privilege = nil
	cleanProfile(&clean)
	info = &clean
	now := s.now()
	m := &models.WechatPublicAuthModel{
		AppID:            s.cfg.AppID,
		OpenID:           tok.OpenID,
		LoginType:        s.cfg.LoginType,
		UserID:           userID,
		UnionID:          info.UnionID,
		Nickname:         info.Nickname,
		HeadImgURL:       info.HeadImgURL,
		Province:         info.Province,
		City:             info.City,
		Country:          info.Country,
		Sex:              info.Sex,
		AccessToken:      tok.AccessToken,
		RefreshToken:     tok.RefreshToken,
		ExpiresIn:        tok.ExpiresIn,
		TokenExpiresAt:   now.Add(time.Duration(tok.ExpiresIn) * time.Second),
		RefreshExpiresAt: now.Add(refreshTokenTTL),
		Scope:            tok.Scope,
	}
	if err := s.sealTokens(m); err != nil {
		return fmt.Errorf("wechat: login %s: %w", tok.OpenID, err)
	}
	var opts []models.UpsertOption
	if !tok.FullProfile() {
		opts = append(opts, models.PreserveProfile()) // a base login must not wipe a stored profile
	}
	if err := models.UpsertWechatUser(ctx, db, m, opts...); err != nil {
		return fmt.Errorf("wechat: login %s: %w", tok.OpenID, err)
	}
	s.log.InfoContext(ctx, "wechat user logged in", "openid", tok.OpenID, "scope", tok.Scope, "user_id", userID)
	return nil
}

// Forget deletes the account row of openid (tokens and profile), on db: an
// unbound identity leaves nothing behind.
func (s *WechatPublicAuthSvc) Forget(ctx context.Context, db *gorm.DB, openid string) error {
	if err := db.WithContext(ctx).Where("app_id = ? AND open_id = ?", s.cfg.AppID, openid).
		Delete(&models.WechatPublicAuthModel{}).Error; err != nil {
		return fmt.Errorf("wechat: forget %s: %w", openid, err)
	}
	return nil
}

// ValidAccessToken returns the stored access token of openid, refreshing it
// when expired. Concurrent callers for one user share a single refresh. When
// the grant is gone (no row, refresh token expired or invalid) the stored
// tokens are cleared and the error matches ErrReauthorize.
func (s *WechatPublicAuthSvc) ValidAccessToken(ctx context.Context, openid string) (string, error) {
	if s.db == nil {
		return "", errors.New("wechat: valid access token: no database configured")
	}
	if tok, ok, err := s.storedToken(ctx, openid); err != nil || ok {
		return tok, err
	}
	// The refresh outlives an impatient caller so the others still get it.
	budget := s.timeout*time.Duration(len(s.cfg.APIBaseURLs)*s.attempts) + s.backoff<<max(s.attempts-1, 0)
	ch := s.refresh.DoChan(s.cfg.AppID+"\x00"+openid, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
		defer cancel()
		return s.refreshStored(rctx, openid)
	})
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("wechat: valid access token: %w", ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	}
}

// storedToken returns the stored token when it is still valid (ok true), or
// ok false when a refresh is needed.
func (s *WechatPublicAuthSvc) storedToken(ctx context.Context, openid string) (string, bool, error) {
	m, err := s.findUser(ctx, openid)
	if errors.Is(err, models.ErrNotFound) {
		return "", false, fmt.Errorf("wechat: valid access token: %w: %w", ErrReauthorize, err)
	}
	if err != nil {
		return "", false, fmt.Errorf("wechat: valid access token: %w", err)
	}
	if m.AccessToken != "" && s.now().Before(m.TokenExpiresAt.Add(-tokenExpirySkew)) {
		return m.AccessToken, true, nil
	}
	if m.RefreshToken == "" {
		return "", false, fmt.Errorf("wechat: valid access token %s: no refresh token: %w", openid, ErrReauthorize)
	}
	return "", false, nil
}

func (s *WechatPublicAuthSvc) refreshStored(ctx context.Context, openid string) (string, error) {
	// Re-read: the previous flight or another process may have refreshed.
	if tok, ok, err := s.storedToken(ctx, openid); err != nil || ok {
		return tok, err
	}
	m, err := s.findUser(ctx, openid)
	if err != nil {
		return "", fmt.Errorf("wechat: refresh %s: %w", openid, err)
	}
	var tok *AccessToken
	if !m.RefreshExpiresAt.IsZero() && !s.now().Before(m.RefreshExpiresAt) {
		err = fmt.Errorf("wechat: refresh %s: refresh token past its 30 days", openid)
	} else {
		tok, err = s.RefreshToken(ctx, m.RefreshToken)
		if err != nil && !IsRefreshTokenExpired(err) {
			return "", err
		}
	}
	if err != nil {
		if cerr := models.ClearWechatTokens(ctx, s.db, s.cfg.AppID, openid); cerr != nil {
			s.log.WarnContext(ctx, "wechat: clear tokens after failed refresh", "openid", openid, "err", cerr)
		}
		s.log.InfoContext(ctx, "wechat refresh token dead, reauthorization needed", "openid", openid, "err", err)
		return "", fmt.Errorf("%w: %w", ErrReauthorize, err)
	}
	if tok.OpenID != openid {
		return "", &UpstreamError{Endpoint: endpointRefreshToken, Status: http.StatusOK, Err: fmt.Errorf("%w: openid differs from the stored one", ErrMalformedResponse)}
	}
	m.AccessToken = tok.AccessToken
	m.RefreshToken = tok.RefreshToken
	m.ExpiresIn = tok.ExpiresIn
	m.TokenExpiresAt = s.now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	if tok.Scope != "" {
		m.Scope = tok.Scope
	}
	// RefreshExpiresAt stays: the 30 days run from the original authorization.
	if err := s.sealTokens(m); err != nil {
		return "", fmt.Errorf("wechat: store refreshed token %s: %w", openid, err)
	}
	if err := models.UpsertWechatUser(ctx, s.db, m, models.PreserveProfile()); err != nil {
		return "", fmt.Errorf("wechat: store refreshed token %s: %w", openid, err)
	}
	s.log.DebugContext(ctx, "wechat access token refreshed", "openid", openid)
	return tok.AccessToken, nil
}
