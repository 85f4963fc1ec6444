package jit

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "jit_active_sessions",
			Help: "Sessions not yet expired, across every replica sharing the database.",
		}, func() float64 {
			var n int64
			if err := db.Model(&models.Session{}).Where("expires_at > ?", now()).Count(&n).Error; err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// observeUpstream is told of every login element's upstream call. An
// error that carries the upstream's own code (ErrCode, as WeChat's errcode
// does) is counted by it.
func (m *metrics) observeUpstream(endpoint string, took time.Duration, err error) {
	result := "ok"
	var coded interface{ ErrCode() int }
	switch {
	case errors.As(err, &coded):
		result = "errcode_" + strconv.Itoa(coded.ErrCode())
	case err != nil:
		result = "upstream_error"
	}
	m.upstream.WithLabelValues(endpoint, result).Observe(took.Seconds())
}

// observeLogin counts one callback's outcome.
func (m *metrics) observeLogin(element, outcome string, errcode int) {
	m.logins.WithLabelValues(element, outcome, strconv.Itoa(errcode)).Inc()
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
