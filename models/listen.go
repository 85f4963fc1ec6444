package models

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen delivers the payload of every PostgreSQL NOTIFY on channel to fn,
// on a connection of its own, until ctx ends; it reconnects (with backoff)
// when the connection drops, so replicas keep hearing each other. The
// returned channel closes once it has stopped.
func Listen(ctx context.Context, dsn, channel string, fn func(payload string), log *slog.Logger) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		backoff := 100 * time.Millisecond
		for ctx.Err() == nil {
			err := listenOnce(ctx, dsn, channel, fn, func() { backoff = 100 * time.Millisecond })
			if ctx.Err() != nil {
				return
			}
			log.WarnContext(ctx, "models: LISTEN connection lost; reconnecting", "channel", channel, "err", err, "in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 10*time.Second)
		}
	}()
	return done
}

func listenOnce(ctx context.Context, dsn, channel string, fn func(string), connected func()) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	connected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		fn(n.Payload)
	}
}
