package auths

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/jitwx/jit/models"
)

// QRNotifyChannel is the PostgreSQL NOTIFY channel a ticket's change is
// announced on (payload: the ticket), so a long poll on another replica
// wakes at once.
const QRNotifyChannel = "jit_qr_ticket"

// Public statuses of a ticket, as the desktop sees them.
const (
	qrWaiting   = "waiting"
	qrScanned   = "scanned"
	qrConfirmed = "confirmed"
	qrDenied    = "denied"
	qrExpired   = "expired"
)

// qrSpendGrace is how long after its expiry a confirmed ticket can still
// be turned into the desktop's session: the person confirmed in time.
const qrSpendGrace = time.Minute

var errTicketGone = errors.New("auths: the QR ticket expired or was used")

// ticketHub wakes the long polls of this process waiting on a ticket.
type ticketHub struct {
	mu      sync.Mutex
	waiters map[string][]chan struct{}
}

func (h *ticketHub) watch(ticket string) chan struct{} {
	ch := make(chan struct{})
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.waiters == nil {
		h.waiters = map[string][]chan struct{}{}
	}
	h.waiters[ticket] = append(h.waiters[ticket], ch)
	return ch
}

func (h *ticketHub) unwatch(ticket string, ch chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	list := h.waiters[ticket]
	for i, c := range list {
		if c == ch {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(h.waiters, ticket)
	} else {
		h.waiters[ticket] = list
	}
}

func (h *ticketHub) wake(ticket string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.waiters[ticket] {
		close(ch)
	}
	delete(h.waiters, ticket)
}

// WakeTicket wakes this process's long polls of a ticket; a replica's
// PostgreSQL listener calls it for each notification.
func (s *Store) WakeTicket(ticket string) { s.hub.wake(ticket) }

// ticketChanged announces a change to long polls here and, on PostgreSQL,
// on every replica.
func (s *Store) ticketChanged(ctx context.Context, ticket string) {
	s.hub.wake(ticket)
	if s.db.Dialector.Name() == "postgres" {
		_ = s.db.WithContext(ctx).Exec("SELECT pg_notify(?, ?)", QRNotifyChannel, ticket).Error
	}
}

// CreateTicket stores a new desktop ticket.
func (s *Store) CreateTicket(ctx context.Context, t *models.QRTicket) error {
	if err := s.db.WithContext(ctx).Create(t).Error; err != nil {
		return fmt.Errorf("saving QR ticket: %w", err)
	}
	return nil
}

// Ticket reads a ticket; errNoRow when there is none.
func (s *Store) Ticket(ctx context.Context, ticket string) (*models.QRTicket, error) {
	var t models.QRTicket
	err := s.db.WithContext(ctx).Where("ticket = ?", ticket).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNoRow
	}
	if err != nil {
		return nil, fmt.Errorf("reading QR ticket: %w", err)
	}
	return &t, nil
}

// ScanTicket records that a phone opened the ticket's link; false when the
// ticket cannot be scanned (unknown, expired, already logged in with).
func (s *Store) ScanTicket(ctx context.Context, ticket, loginType string, now time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&models.QRTicket{}).
		Where("ticket = ? AND login_type = ? AND status IN ? AND expires_at > ?", ticket, loginType, []string{"waiting", "scanned"}, now).
		Update("status", "scanned")
	if res.Error != nil {
		return false, fmt.Errorf("scanning QR ticket: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		s.ticketChanged(ctx, ticket)
	}
	return res.RowsAffected > 0, nil
}

// readyTicket, inside a login's transaction, hands a scanned ticket the
// phone's login, to be confirmed.
func readyTicket(tx *gorm.DB, ticket, phoneBindingHash, userID string, id Identity, now time.Time) error {
	res := tx.Model(&models.QRTicket{}).Where("ticket = ? AND status = ? AND expires_at > ?", ticket, "scanned", now).
		Updates(map[string]any{"status": "ready", "phone_binding_hash": phoneBindingHash, "user_id": userID,
			"identity_type": id.LoginType, "app_id": id.AppID, "open_id": id.OpenID})
	if res.Error != nil {
		return fmt.Errorf("readying QR ticket: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return errTicketGone
	}
	return nil
}

// DenyTicket ends a ticket the phone's login failed or cancelled. With a
// phone binding, only that phone may cancel (a ticket already ready).
func (s *Store) DenyTicket(ctx context.Context, ticket, phoneBindingHash string) (bool, error) {
	q := s.db.WithContext(ctx).Model(&models.QRTicket{}).Where("ticket = ?", ticket)
	if phoneBindingHash != "" {
		q = q.Where("status = ? AND phone_binding_hash = ?", "ready", phoneBindingHash)
	} else {
		q = q.Where("status IN ?", []string{"waiting", "scanned", "ready"})
	}
	res := q.Update("status", "denied")
	if res.Error != nil {
		return false, fmt.Errorf("denying QR ticket: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		s.ticketChanged(ctx, ticket)
	}
	return res.RowsAffected > 0, nil
}

// ConfirmTicket records the phone's confirmation; false when the ticket is
// not this phone's to confirm, or expired.
func (s *Store) ConfirmTicket(ctx context.Context, ticket, phoneBindingHash string, now time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&models.QRTicket{}).
		Where("ticket = ? AND status = ? AND phone_binding_hash = ? AND expires_at > ?", ticket, "ready", phoneBindingHash, now).
		Update("status", "confirmed")
	if res.Error != nil {
		return false, fmt.Errorf("confirming QR ticket: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		s.ticketChanged(ctx, ticket)
	}
	return res.RowsAffected > 0, nil
}

// SpendTicket turns a confirmed ticket into the desktop's session, once;
// false when another poll spent it first.
func (s *Store) SpendTicket(ctx context.Context, t *models.QRTicket, sess *models.Session, now time.Time) (bool, error) {
	spent := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.QRTicket{}).Where("ticket = ? AND status = ? AND desktop_binding_hash = ? AND expires_at > ?",
			t.Ticket, "confirmed", t.DesktopBindingHash, now.Add(-qrSpendGrace)).Update("status", "spent")
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		sess.UserID = t.UserID
		if err := tx.Create(sess).Error; err != nil {
			return fmt.Errorf("saving session: %w", err)
		}
		spent = true
		return nil
	})
	return spent, err
}

// publicStatus is what the desktop is told of a ticket: nothing about the
// phone's progress beyond "scanned" until it is confirmed.
func publicStatus(t *models.QRTicket, now time.Time) string {
	switch t.Status {
	case "waiting", "scanned", "ready":
		if !now.Before(t.ExpiresAt) {
			return qrExpired
		}
		if t.Status == "waiting" {
			return qrWaiting
		}
		return qrScanned
	case "confirmed":
		if !now.Before(t.ExpiresAt.Add(qrSpendGrace)) {
			return qrExpired
		}
		return qrConfirmed
	case "spent":
		return qrConfirmed
	}
	return qrDenied
}

// WaitTicket returns the ticket as soon as its public status differs from
// since, or when wait has passed. Changes made here or announced by the
// PostgreSQL listener wake it at once; the database is also read every
// poll, for changes made by replicas it hears nothing from.
func (s *Store) WaitTicket(ctx context.Context, ticket, since string, wait, poll time.Duration, now func() time.Time) (*models.QRTicket, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		ch := s.hub.watch(ticket)
		t, err := s.Ticket(ctx, ticket)
		if err != nil || publicStatus(t, now()) != since || t.Status == "spent" {
			s.hub.unwatch(ticket, ch)
			return t, err
		}
		// Wake when it expires, too.
		untilExpiry := t.ExpiresAt.Sub(now())
		if t.Status == "confirmed" {
			untilExpiry += qrSpendGrace
		}
		tick := time.NewTimer(min(poll, max(untilExpiry, time.Millisecond)))
		select {
		case <-ch:
		case <-tick.C:
		case <-deadline.C:
			tick.Stop()
			s.hub.unwatch(ticket, ch)
			return t, nil
		case <-ctx.Done():
			tick.Stop()
			s.hub.unwatch(ticket, ch)
			return nil, ctx.Err()
		}
		tick.Stop()
		s.hub.unwatch(ticket, ch)
	}
}
