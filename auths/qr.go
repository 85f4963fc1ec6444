package auths

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jitwx/jit/models"
)

// Cross-device login: a desktop browser logs in by a phone's 公众号 login.
//
//	desktop  POST qr                  → ticket, the scan URL for its QR, binding cookie
//	phone    GET  scan?ticket=        → the ordinary login, the ticket kept in the state row
//	phone    GET  callback            → a confirmation page: what is being logged in, where
//	phone    POST qr/<ticket>/confirm (or cancel)
//	desktop  GET  qr/<ticket>?wait=25 → the status; the first "confirmed" carries the session
//
// The classic attack on QR login is showing someone your own QR so that
// they log your PC in as them: nothing happens unless the phone confirms a
// page that says what is being logged in, where and when.

// maxQRWait bounds a long poll, seconds.
const maxQRWait = 25

func (s *Server) registerQR(e *echo.Echo, limit echo.MiddlewareFunc) {
	e.POST("/auths/loginTypes/:name/qr", limit(s.needDB(s.sameOrigin(s.qrCreate))))
	e.GET("/auths/loginTypes/:name/qr/:ticket", s.needDB(s.qrPoll))
	e.GET("/auths/loginTypes/:name/scan", s.page(limit(s.needDB(s.qrScan))))
	e.POST("/auths/loginTypes/:name/qr/:ticket/confirm", s.page(limit(s.needDB(s.sameOrigin(s.qrAnswer(true))))))
	e.POST("/auths/loginTypes/:name/qr/:ticket/cancel", s.page(limit(s.needDB(s.sameOrigin(s.qrAnswer(false))))))
}

// crossDevice is the element of a QR route, when it can log desktops in.
func (s *Server) crossDevice(c echo.Context) (Provider, CrossDevice, *Error) {
	p, ferr := s.element(c)
	if ferr != nil {
		return nil, nil, ferr
	}
	cd, ok := p.(CrossDevice)
	if !ok {
		return nil, nil, fail(http.StatusNotFound, "qr_not_supported", "这种登录方式不支持扫码登录。")
	}
	return p, cd, nil
}

// qrTicketResponse is the JSON of POST qr.
type qrTicketResponse struct {
	Ticket    string `json:"ticket"`
	URL       string `json:"url"`
	ExpiresIn int    `json:"expiresIn"`
}

func (s *Server) qrCreate(c echo.Context) error {
	p, cd, ferr := s.crossDevice(c)
	if ferr != nil {
		return ferr
	}
	r := c.Request()
	base := s.baseURL(r)
	binding, fresh := s.ensureBinding(c)
	now, ttl := s.now(), cd.QRTicketTTL()
	t := &models.QRTicket{Ticket: newToken(), LoginType: p.FullName(), DesktopBindingHash: hashHex(binding),
		DesktopUA: SummarizeUserAgent(r.UserAgent()), Status: "waiting", CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.store.CreateTicket(r.Context(), t); err != nil {
		return err
	}
	if !fresh {
		if err := s.store.trimTickets(r.Context(), t.DesktopBindingHash); err != nil {
			s.logger.WarnContext(r.Context(), "trimming a desktop's QR tickets", "err", err)
		}
	}
	s.sweep(r.Context(), now)
	s.observeQR(p.FullName(), "created")
	scan := base.JoinPath("auths", "loginTypes", c.Param("name"), "scan")
	scan.RawQuery = "ticket=" + t.Ticket
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, qrTicketResponse{Ticket: t.Ticket, URL: scan.String(), ExpiresIn: int(ttl / time.Second)})
}

// qrStatus is the JSON of GET qr/<ticket>.
type qrStatus struct {
	Status string `json:"status"`
}

func (s *Server) qrPoll(c echo.Context) error {
	p, _, ferr := s.crossDevice(c)
	if ferr != nil {
		return ferr
	}
	r := c.Request()
	ctx := r.Context()
	c.Response().Header().Set("Cache-Control", "no-store")
	ticket := c.Param("ticket")
	notFound := fail(http.StatusNotFound, "ticket_not_found", "二维码不存在或已过期，请刷新。")
	if !validToken(ticket, tokenLen) {
		return notFound
	}
	t, err := s.store.Ticket(ctx, ticket)
	switch {
	case errors.Is(err, errNoRow):
		return notFound
	case err != nil:
		return err
	case t.LoginType != p.FullName():
		return notFound
	}
	base := s.baseURL(r)
	if binding, ok := s.binding(c); !ok || hashHex(binding) != t.DesktopBindingHash {
		return fail(http.StatusForbidden, "ticket_other_browser", "这个二维码是在另一个浏览器里生成的。")
	}
	since := c.QueryParam("since")
	if since == "" {
		since = qrWaiting
	}
	wait, _ := strconv.Atoi(c.QueryParam("wait"))
	wait = min(max(wait, 0), maxQRWait)
	if wait > 0 {
		t, err = s.store.WaitTicket(ctx, ticket, since, time.Duration(wait)*time.Second, s.ticketPoll, s.now)
		switch {
		case ctx.Err() != nil:
			return nil // the desktop went away
		case errors.Is(err, errNoRow):
			return notFound // swept meanwhile
		case err != nil:
			return err
		}
	}
	now := s.now()
	if t.Status == "spent" {
		return fail(http.StatusConflict, "ticket_used", "这个二维码已经用过了。")
	}
	status := publicStatus(t, now)
	if status == qrConfirmed {
		token := newToken()
		sess := s.newSession(r, token, Identity{LoginType: t.IdentityType, AppID: t.AppID, OpenID: t.OpenID}, "", "")
		spent, err := s.store.SpendTicket(ctx, t, sess, now)
		if err != nil {
			return err
		}
		if !spent {
			return fail(http.StatusConflict, "ticket_used", "这个二维码已经用过了。")
		}
		c.SetCookie(s.cookie(base, SessionCookie, token, s.sessionTTL))
		s.observeQR(p.FullName(), "login")
		s.logger.InfoContext(ctx, "desktop logged in by QR", "element", p.FullName())
	}
	return c.JSON(http.StatusOK, qrStatus{Status: status})
}

// qrScan is the phone opening the QR's link: the ordinary login runs, with
// the ticket in its state row.
func (s *Server) qrScan(c echo.Context) error {
	p, _, ferr := s.crossDevice(c)
	if ferr != nil {
		return ferr
	}
	ctx := c.Request().Context()
	ticket := c.QueryParam("ticket")
	now := s.now()
	ok := false
	if validToken(ticket, tokenLen) {
		var err error
		if ok, err = s.store.ScanTicket(ctx, ticket, p.FullName(), now); err != nil {
			return err
		}
	}
	if !ok {
		return fail(http.StatusGone, "qr_expired", "二维码已失效，请在电脑上刷新二维码后重新扫码。")
	}
	s.observeQR(p.FullName(), "scanned")
	binding, fresh := s.ensureBinding(c)
	state := newToken()
	row := models.LoginState{State: state, LoginType: p.FullName(), BindingHash: hashHex(binding), QRTicket: ticket,
		Status: "pending", CreatedAt: now, ExpiresAt: now.Add(s.stateTTL)}
	if err := s.store.CreateState(ctx, &row); err != nil {
		return err
	}
	s.trimPending(ctx, row.BindingHash, fresh)
	callback := s.baseURL(c.Request()).JoinPath("auths", "loginTypes", c.Param("name"), "callback").String()
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusFound, p.AuthCodeURL(callback, state))
}

// qrAnswer is the phone's 确认登录 (confirm) or 取消 on the confirmation
// page. Only the phone that logged in may answer: its binding cookie.
func (s *Server) qrAnswer(confirm bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, _, ferr := s.crossDevice(c)
		if ferr != nil {
			return ferr
		}
		ctx := c.Request().Context()
		ticket := c.Param("ticket")
		binding, ok := s.binding(c)
		gone := fail(http.StatusGone, "qr_expired", "二维码已失效，请在电脑上刷新二维码后重新扫码。")
		if !ok || !validToken(ticket, tokenLen) {
			return gone
		}
		var err error
		if confirm {
			ok, err = s.store.ConfirmTicket(ctx, ticket, hashHex(binding), s.now())
		} else {
			ok, err = s.store.DenyTicket(ctx, ticket, hashHex(binding))
		}
		if err != nil {
			return err
		}
		if !ok {
			return gone
		}
		page := qrDonePage{Title: "已确认登录", Message: "请回到电脑上继续。"}
		if confirm {
			s.observeQR(p.FullName(), "confirmed")
		} else {
			s.observeQR(p.FullName(), "denied")
			page = qrDonePage{Title: "已取消", Message: "电脑上不会登录。"}
		}
		return renderPage(c, http.StatusOK, qrDoneTemplate, page)
	}
}

// confirmPage asks the phone to confirm the desktop's login.
func (s *Server) confirmPage(c echo.Context, ticket string) error {
	t, err := s.store.Ticket(c.Request().Context(), ticket)
	if err != nil || t.Status != "ready" {
		return fail(http.StatusGone, "qr_expired", "二维码已失效，请在电脑上刷新二维码后重新扫码。")
	}
	base := s.baseURL(c.Request()).JoinPath("auths", "loginTypes", c.Param("name"), "qr", ticket)
	return renderPage(c, http.StatusOK, qrConfirmTemplate, qrConfirmPage{
		App:     s.appTitle(),
		Device:  t.DesktopUA,
		Made:    t.CreatedAt.In(beijing).Format("15:04"),
		Confirm: base.JoinPath("confirm").String(),
		Cancel:  base.JoinPath("cancel").String(),
	})
}

// beijing is the time zone the phone's page states times in: the people
// who log in through WeChat are in China.
var beijing = time.FixedZone("北京时间", 8*3600)

func (s *Server) observeQR(element, event string) {
	if s.qrObserve != nil {
		s.qrObserve(element, event)
	}
}

func renderPage(c echo.Context, status int, t *template.Template, data any) error {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTML(status, b.String())
}

type qrConfirmPage struct {
	App, Device, Made, Confirm, Cancel string
}

type qrDonePage struct {
	Title, Message string
}

const pageHead = `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;background:#f5f6f7;color:#1f2329}
main{max-width:420px;margin:12vh auto 0;padding:32px 24px;background:#fff;border-radius:12px;text-align:center}
h1{font-size:20px;margin:0 0 16px;line-height:1.5}
p{font-size:15px;line-height:1.6;margin:0 0 8px;color:#51565d}
form{margin:0}
button{display:block;width:100%;margin-top:16px;padding:12px;border-radius:8px;border:0;font-size:17px}
.ok{background:#07c160;color:#fff;margin-top:28px}
.no{background:#f2f3f5;color:#1f2329}
svg{width:56px;height:56px;margin-bottom:12px}
</style>
`

var qrConfirmTemplate = template.Must(template.New("confirm").Parse(pageHead + `<title>确认登录</title>
</head>
<body>
<main>
<svg viewBox="0 0 48 48" aria-hidden="true"><rect x="6" y="9" width="36" height="24" rx="3" fill="none" stroke="#07c160" stroke-width="3"/><path d="M17 39h14M24 33v6" stroke="#07c160" stroke-width="3" stroke-linecap="round"/></svg>
<h1>在电脑上登录「{{.App}}」？</h1>
<p>登录的电脑：{{.Device}}</p>
<p>二维码生成于 {{.Made}}（北京时间）</p>
<p>如果这不是你刚刚在电脑上打开的页面，请点“取消”。</p>
<form method="post" action="{{.Confirm}}"><button class="ok" type="submit" id="qr-confirm">确认登录</button></form>
<form method="post" action="{{.Cancel}}"><button class="no" type="submit" id="qr-cancel">取消</button></form>
</main>
</body>
</html>
`))

var qrDoneTemplate = template.Must(template.New("done").Parse(pageHead + `<title>{{.Title}}</title>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
</main>
</body>
</html>
`))
