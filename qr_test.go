package jit_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/models"
)

type qrTicketJSON struct {
	Ticket    string `json:"ticket"`
	URL       string `json:"url"`
	ExpiresIn int    `json:"expiresIn"`
}

// newQR is the desktop asking for a login QR.
func (b *browser) newQR(name string) qrTicketJSON {
	b.e.t.Helper()
	r := b.sameSite(http.MethodPost, "/auths/loginTypes/"+name+"/qr")
	var t qrTicketJSON
	if r.StatusCode != http.StatusCreated || json.Unmarshal(r.body, &t) != nil || t.Ticket == "" {
		b.e.t.Fatalf("POST qr: %d %s", r.StatusCode, r.body)
	}
	return t
}

// pollQR is the desktop asking for the ticket's status; it returns the
// raw response too.
func (b *browser) pollQR(name, ticket, query string) (string, *response) {
	r := b.get("/auths/loginTypes/" + name + "/qr/" + ticket + query)
	var body map[string]any
	if r.StatusCode != http.StatusOK {
		return "", r
	}
	if err := json.Unmarshal(r.body, &body); err != nil || len(body) != 1 {
		b.e.t.Errorf("poll body %s: the desktop must learn only the status", r.body)
	}
	s, _ := body["status"].(string)
	return s, r
}

// scanQR is the phone opening the QR's link and logging in through WeChat
// as openid; it returns the page the callback answers.
func (b *browser) scanQR(name string, t qrTicketJSON, openid string) *response {
	b.e.t.Helper()
	r := b.getHTML(t.URL)
	if r.StatusCode != http.StatusFound {
		return r
	}
	state := mustURL(b.e.t, r.location()).Query().Get("state")
	code := b.e.sim.IssueCode(elementApp[name], openid, "snsapi_userinfo")
	return b.getHTML(callbackPath(name, code, state))
}

func (b *browser) answerQR(page *response, answer string) *response {
	b.e.t.Helper()
	body := string(page.body)
	i := strings.Index(body, `/`+answer+`"`)
	j := strings.LastIndex(body[:max(i, 0)], `action="`)
	if i < 0 || j < 0 {
		b.e.t.Fatalf("no %s form on the page:\n%s", answer, body)
	}
	action := body[j+len(`action="`) : i+len(answer)+1]
	req, _ := http.NewRequest(http.MethodPost, action, nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Origin", b.e.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

func TestQRLoginAcrossDevices(t *testing.T) {
	e := newUsersEnv(t)
	desktop, phone := e.browserWithUA(windowsChromeUA), e.browserWithUA(androidWechatUA)
	qr := desktop.newQR("WxMain")
	if qr.ExpiresIn != 120 || qr.URL != e.srv.URL+"/auths/loginTypes/WxMain/scan?ticket="+qr.Ticket {
		t.Errorf("ticket %+v", qr)
	}
	if s, _ := desktop.pollQR("WxMain", qr.Ticket, ""); s != "waiting" {
		t.Errorf("status before the scan: %q", s)
	}

	page := phone.scanQR("WxMain", qr, userPanda.OpenID)
	body := string(page.body)
	if page.StatusCode != http.StatusOK || !strings.Contains(body, "在电脑上登录「用户测试应用」？") ||
		!strings.Contains(body, "Chrome · Windows") || !strings.Contains(body, "确认登录") || !strings.Contains(body, "取消") {
		t.Fatalf("confirmation page: %d\n%s", page.StatusCode, body)
	}
	if s, _ := desktop.pollQR("WxMain", qr.Ticket, ""); s != "scanned" {
		t.Errorf("status after the phone logged in: %q (the desktop learns nothing before confirmed)", s)
	}
	if status, _ := desktop.user(); status != http.StatusUnauthorized {
		t.Error("the desktop is logged in before the phone confirmed")
	}
	// A reload of the phone's page (a duplicate callback) shows it again.
	done := phone.answerQR(page, "confirm")
	if done.StatusCode != http.StatusOK || !strings.Contains(string(done.body), "已确认登录") {
		t.Fatalf("confirm: %d %s", done.StatusCode, done.body)
	}
	s, r := desktop.pollQR("WxMain", qr.Ticket, "?wait=5&since=scanned")
	if s != "confirmed" || cookieNamed(r, auths.SessionCookie) == nil {
		t.Fatalf("status after confirm: %q, cookies %v", s, r.Cookies())
	}
	if status, u := desktop.user(); status != http.StatusOK || u.OpenID != userPanda.OpenID || u.Nickname != userPanda.Nickname {
		t.Errorf("desktop session: %d %+v", status, u)
	}
	if status, _ := phone.user(); status != http.StatusUnauthorized {
		t.Error("the phone was logged in too")
	}
	// Spent: a second poll, or the same link scanned again, gets nothing.
	_, r = desktop.pollQR("WxMain", qr.Ticket, "")
	wantError(t, r, http.StatusConflict, "ticket_used")
	if r := phone.getHTML(qr.URL); r.StatusCode != http.StatusGone || !strings.Contains(string(r.body), "二维码已失效") {
		t.Errorf("scanning a spent ticket: %d %s", r.StatusCode, r.body)
	}
	list := desktop.sessions()
	if len(list) != 1 || list[0].UserAgent != "Chrome · Windows" || !list[0].Current {
		t.Errorf("the desktop's sessions: %+v", list)
	}
	// The database holds nothing that gives the desktop's cookie back.
	var row models.Session
	if err := e.app.DB().Where("user_id = ?", list[0].ID).Or("id = ?", list[0].ID).Take(&row).Error; err != nil || row.DupSeal != "" {
		t.Errorf("the desktop's session row: %+v %v", row, err)
	}
}

func TestQRLoginRefusals(t *testing.T) {
	e := newUsersEnv(t)
	desktop, phone := e.browser(), e.browser()

	t.Run("cancel", func(t *testing.T) {
		qr := desktop.newQR("WxMain")
		page := phone.scanQR("WxMain", qr, userPanda.OpenID)
		if r := phone.answerQR(page, "cancel"); r.StatusCode != http.StatusOK || !strings.Contains(string(r.body), "已取消") {
			t.Fatalf("cancel: %d %s", r.StatusCode, r.body)
		}
		if s, _ := desktop.pollQR("WxMain", qr.Ticket, "?wait=1&since=scanned"); s != "denied" {
			t.Errorf("after cancel: %q", s)
		}
		if r := phone.answerQR(page, "confirm"); r.StatusCode != http.StatusGone {
			t.Errorf("confirm after cancel: %d", r.StatusCode)
		}
	})
	t.Run("another browser polls", func(t *testing.T) {
		qr := desktop.newQR("WxMain")
		_, r := e.browser().pollQR("WxMain", qr.Ticket, "")
		wantError(t, r, http.StatusForbidden, "ticket_other_browser")
		_, r = desktop.pollQR("WxSecond", qr.Ticket, "")
		wantError(t, r, http.StatusNotFound, "ticket_not_found")
		_, r = desktop.pollQR("WxMain", strings.Repeat("A", 26), "")
		wantError(t, r, http.StatusNotFound, "ticket_not_found")
	})
	t.Run("another phone confirms", func(t *testing.T) {
		qr := desktop.newQR("WxMain")
		page := phone.scanQR("WxMain", qr, userPanda.OpenID)
		if r := e.browser().answerQR(page, "confirm"); r.StatusCode != http.StatusGone {
			t.Errorf("a confirm without the phone's cookie: %d", r.StatusCode)
		}
		if s, _ := desktop.pollQR("WxMain", qr.Ticket, ""); s != "scanned" {
			t.Errorf("status %q", s)
		}
	})
	t.Run("registration closed", func(t *testing.T) {
		qr := desktop.newQR("WxClosed")
		page := phone.scanQR("WxClosed", qr, userPlain.OpenID)
		if page.StatusCode != http.StatusForbidden || !strings.Contains(string(page.body), "暂不开放注册") {
			t.Errorf("phone: %d %s", page.StatusCode, page.body)
		}
		if s, _ := desktop.pollQR("WxClosed", qr.Ticket, ""); s != "denied" {
			t.Errorf("desktop: %q", s)
		}
	})
	t.Run("snapshot user", func(t *testing.T) {
		qr := desktop.newQR("WxMain")
		page := phone.scanQR("WxMain", qr, userSnap.OpenID)
		if page.StatusCode != http.StatusForbidden || !strings.Contains(string(page.body), "使用完整服务") {
			t.Errorf("phone: %d %s", page.StatusCode, page.body)
		}
		if s, _ := desktop.pollQR("WxMain", qr.Ticket, ""); s != "denied" {
			t.Errorf("desktop: %q", s)
		}
	})
	t.Run("expired", func(t *testing.T) {
		qr := desktop.newQR("WxMain")
		if err := e.app.DB().Model(&models.QRTicket{}).Where("ticket = ?", qr.Ticket).
			Update("expires_at", time.Now().Add(-time.Second)).Error; err != nil {
			t.Fatal(err)
		}
		if s, _ := desktop.pollQR("WxMain", qr.Ticket, ""); s != "expired" {
			t.Errorf("desktop: %q", s)
		}
		if r := phone.getHTML(qr.URL); r.StatusCode != http.StatusGone {
			t.Errorf("scanning an expired ticket: %d", r.StatusCode)
		}
	})
	t.Run("cross-site ticket", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, desktop.abs("/auths/loginTypes/WxMain/qr"), nil)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		wantError(t, desktop.do(req), http.StatusForbidden, "cross_site")
	})
	t.Run("a Type without cross-device login", func(t *testing.T) {
		wantError(t, desktop.sameSite(http.MethodPost, "/auths/loginTypes/TestLogin/qr"), http.StatusNotFound, "qr_not_supported")
	})
}

func TestQRLoginHookRefusalDeniesTheDesktop(t *testing.T) {
	e := newUsersEnv(t, jit.WithLoginHook(func(context.Context, *auths.LoginEvent) error {
		return errors.New("本应用只对受邀用户开放。")
	}))
	desktop, phone := e.browser(), e.browser()
	qr := desktop.newQR("WxMain")
	page := phone.scanQR("WxMain", qr, userPanda.OpenID)
	if page.StatusCode != http.StatusForbidden || !strings.Contains(string(page.body), "本应用只对受邀用户开放。") {
		t.Errorf("phone: %d %s", page.StatusCode, page.body)
	}
	if s, _ := desktop.pollQR("WxMain", qr.Ticket, ""); s != "denied" {
		t.Errorf("desktop: %q", s)
	}
}

// A long poll answers as soon as the phone confirms, not at its timeout.
func TestQRLongPollWakesOnConfirm(t *testing.T) {
	e := newUsersEnv(t)
	desktop, phone := e.browser(), e.browser()
	qr := desktop.newQR("WxMain")
	page := phone.scanQR("WxMain", qr, userPanda.OpenID)
	type result struct {
		status string
		took   time.Duration
	}
	got := make(chan result, 1)
	start := time.Now()
	go func() {
		s, _ := desktop.pollQR("WxMain", qr.Ticket, "?wait=25&since=scanned")
		got <- result{s, time.Since(start)}
	}()
	time.Sleep(300 * time.Millisecond)
	phone.answerQR(page, "confirm")
	select {
	case r := <-got:
		if r.status != "confirmed" || r.took > 5*time.Second {
			t.Errorf("long poll: %q after %v", r.status, r.took)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the long poll did not wake on confirm")
	}
	if r := e.browser().get("/metrics"); !strings.Contains(string(r.body), `jit_qr_tickets_total{element="auths.loginTypes.WxMain",event="login"} 1`) {
		t.Errorf("metrics lack the QR login:\n%s", grepLines(string(r.body), "jit_qr"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Two replicas: the ticket is made on A, scanned and confirmed on B; the
// long poll on A wakes within a second (on PostgreSQL by NOTIFY: its
// database fallback reads only every two seconds).
func TestQRLoginAcrossReplicas(t *testing.T) {
	dsn, kind := repSharedDatabase(t)
	sim, env := repFakeWechat(t)
	a, b := startReplica(t, dsn, env), startReplica(t, dsn, env)
	desktop, phone := repBrowser(), repBrowser()
	post := func(c *http.Client, u string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, u, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp, err := func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/auths/loginTypes/ShopLogin/qr", nil)
		return desktop.Do(req)
	}()
	if err != nil {
		t.Fatal(err)
	}
	var qr qrTicketJSON
	json.NewDecoder(resp.Body).Decode(&qr)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST qr on A: %d", resp.StatusCode)
	}
	// The phone, on B.
	scan, err := phone.Get(b.srv.URL + "/auths/loginTypes/ShopLogin/scan?ticket=" + qr.Ticket)
	if err != nil || scan.StatusCode != http.StatusFound {
		t.Fatalf("scan on B: %v %v", scan, err)
	}
	scan.Body.Close()
	state := mustURL(t, scan.Header.Get("Location")).Query().Get("state")
	cb, err := phone.Get(b.srv.URL + "/auths/loginTypes/ShopLogin/callback?" + url.Values{
		"code": {sim.IssueCode(replicaAppID, sim.Users()[0].OpenID, "snsapi_userinfo")}, "state": {state}}.Encode())
	if err != nil || cb.StatusCode != http.StatusOK {
		t.Fatalf("callback on B: %v %v", cb, err)
	}
	cb.Body.Close()

	type result struct {
		status string
		at     time.Time
	}
	got := make(chan result, 1)
	go func() {
		resp, err := desktop.Get(a.srv.URL + "/auths/loginTypes/ShopLogin/qr/" + qr.Ticket + "?wait=25&since=scanned")
		if err != nil {
			got <- result{err.Error(), time.Now()}
			return
		}
		defer resp.Body.Close()
		var s struct{ Status string }
		json.NewDecoder(resp.Body).Decode(&s)
		got <- result{s.Status, time.Now()}
	}()
	time.Sleep(500 * time.Millisecond) // the poll is waiting on A
	confirmed := time.Now()
	if r := post(phone, b.srv.URL+"/auths/loginTypes/ShopLogin/qr/"+qr.Ticket+"/confirm"); r.StatusCode != http.StatusOK {
		t.Fatalf("confirm on B: %d", r.StatusCode)
	}
	select {
	case r := <-got:
		if r.status != "confirmed" || r.at.Sub(confirmed) > time.Second {
			t.Errorf("[%s] long poll on A: %q, %v after the confirm on B", kind, r.status, r.at.Sub(confirmed))
		}
		t.Logf("[%s] the poll on A answered %v after the confirm on B", kind, r.at.Sub(confirmed))
	case <-time.After(20 * time.Second):
		t.Fatalf("[%s] the long poll on A never answered", kind)
	}
	if got := repSessionStatus(t, desktop, b.srv.URL); got != http.StatusOK {
		t.Errorf("[%s] the desktop's session on B: %d", kind, got)
	}
}
