package jit

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/singleflight"
	"gorm.io/gorm"

	"github.com/jitwx/jit/models"
)

// metrics are one App's Prometheus collectors, in a registry of its own so
// two Apps in one process (tests, replicas) never collide.
type metrics struct {
	reg      *prometheus.Registry
	logins   *prometheus.CounterVec
	upstream *prometheus.HistogramVec
	reloads  *prometheus.CounterVec
	qr       *prometheus.CounterVec
}

func newMetrics(db *gorm.DB, now func() time.Time) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jit_login_attempts_total",
			Help: "Login callbacks by login element, outcome (ok or the error code) and WeChat errcode (0 when WeChat did not refuse).",
		}, []string{"element", "outcome", "errcode"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "jit_wechat_request_duration_seconds",
			Help:    "Requests to WeChat's API by endpoint and result (ok, errcode, upstream_error).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"endpoint", "result"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jit_reloads_total",
			Help: "Hot reloads by result: ok, or broken (some element kept its last good version or was skipped).",
		}, []string{"result"}),
	}
	m.qr = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "jit_qr_tickets_total",
		Help: "Desktop QR login tickets by login element and event: created, scanned, confirmed, denied, login (the desktop got its session).",
	}, []string{"element", "event"})
	m.reg.MustRegister(m.logins, m.upstream, m.reloads, m.qr,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		sessions := &cachedCount{ttl: sessionsCountTTL, now: time.Now, count: func() (int64, error) {
			var n int64
			err := db.Model(&models.Session{}).Where("expires_at > ?", now()).Count(&n).Error
			return n, err
		}}
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "jit_active_sessions",
			Help: "Sessions not yet expired, across every replica sharing the database (counted at most every 15 s; -1 when the count failed).",
		}, sessions.get))
	}
	return m
}

// sessionsCountTTL is how long a count of the sessions is reused: a
// COUNT(*) of the sessions table costs the shared database a scan, and
// scrapes (several Prometheus servers, anyone who can reach /metrics)
// would otherwise run one each.
const sessionsCountTTL = 15 * time.Second

// cachedCount is a count recomputed at most every ttl; concurrent callers
// of a stale count wait for one query together.
type cachedCount struct {
	ttl   time.Duration
	now   func() time.Time
	count func() (int64, error)

	sf  singleflight.Group
	mu  sync.Mutex
	at  time.Time // when val was counted; zero before the first count
	val float64
}

func (c *cachedCount) get() float64 {
	c.mu.Lock()
	if !c.at.IsZero() && c.now().Sub(c.at) < c.ttl {
		v := c.val
		c.mu.Unlock()
		return v
	}
	c.mu.Unlock()
	v, _, _ := c.sf.Do("count", func() (any, error) {
		val := float64(-1) // a failure is cached too: a database that is down is not asked on every scrape
		if n, err := c.count(); err == nil {
			val = float64(n)
		}
		c.mu.Lock()
		c.val, c.at = val, c.now()
		c.mu.Unlock()
		return val, nil
	})
	return v.(float64)
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// observeUpstream is told of every login element's upstream call. An
// error that carries the upstream's own code (ErrCode, as WeChat's errcode
// does) is counted by it: errcode_40029, or errcode_other for a code WeChat
// does not document.
func (m *metrics) observeUpstream(endpoint string, took time.Duration, err error) {
	result := "ok"
	var coded interface{ ErrCode() int }
	switch {
	case errors.As(err, &coded):
		result = "errcode_" + errcodeLabel(coded.ErrCode())
	case err != nil:
		result = "upstream_error"
	}
	m.upstream.WithLabelValues(endpoint, result).Observe(took.Seconds())
}

// observeLogin counts one callback's outcome.
func (m *metrics) observeLogin(element, outcome string, errcode int) {
	m.logins.WithLabelValues(element, outcomeLabel(outcome), errcodeLabel(errcode)).Inc()
}

// Label values come from a fixed set, whatever a server answering as
// WeChat sends or a login Type invents: each new value would be a new
// time series kept forever by the registry and by Prometheus.
var (
	// wechatErrcodes are the errcodes WeChat documents for the web
	// authorization API (see the protocol notes), and 0 for no errcode.
	// The authorize page's own codes (10003, 10005, …) never reach this
	// server: WeChat shows them on its page and does not call back.
	wechatErrcodes = map[int]bool{0: true, -1: true,
		40001: true, 40002: true, 40003: true, 40013: true, 40014: true, 40029: true, 40030: true, 40125: true, 40163: true,
		41001: true, 41002: true, 41003: true, 41004: true, 41008: true,
		42001: true, 42002: true, 42003: true, 45009: true, 45011: true, 48001: true, 50001: true, 50002: true}
	// loginOutcomes are "ok", "internal", and the error codes of the login
	// flow and of the built-in login Types (auths, auths/wechatpublic,
	// auths/wechatweb).
	loginOutcomes = map[string]bool{"ok": true, "internal": true,
		"authorization_denied": true, "client_unknown": true, "code_invalid": true, "code_used": true, "cross_site": true,
		"database_unavailable": true, "element_broken": true, "identity_in_use": true, "identity_not_found": true, "invalid_redirect": true,
		"last_identity": true, "login_failed": true, "login_in_progress": true, "login_refused": true,
		"login_type_not_found": true, "not_logged_in": true, "qr_expired": true, "qr_not_supported": true,
		"rate_limited": true, "registration_closed": true, "session_not_found": true, "snapshot_user": true,
		"state_browser_mismatch": true, "state_expired": true, "state_invalid": true, "state_missing": true,
		"state_used": true, "ticket_not_found": true, "ticket_other_browser": true, "ticket_used": true,
		"user_disabled": true, "wechat_error": true, "wechat_timeout": true, "wechat_unavailable": true}
)

func errcodeLabel(code int) string {
	if wechatErrcodes[code] {
		return strconv.Itoa(code)
	}
	return "other"
}

func outcomeLabel(outcome string) string {
	if loginOutcomes[outcome] {
		return outcome
	}
	return "other"
}

// observeQR counts one QR ticket event.
func (m *metrics) observeQR(element, event string) { m.qr.WithLabelValues(element, event).Inc() }

func (m *metrics) observeReload(broken bool) {
	result := "ok"
	if broken {
		result = "broken"
	}
	m.reloads.WithLabelValues(result).Inc()
}
