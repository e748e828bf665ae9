package shop

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jampay/jampay/pkg/order"
	"github.com/jampay/jampay/pkg/subscription"
)

// AccessLink is one subscription in an access-link mail: its plan's name
// and the link to the account page, with a fresh token in its fragment.
type AccessLink struct {
	Name string
	URL  string
}

// AccessLinkRenderer renders the access-link mail (pkg/mail's Renderer).
type AccessLinkRenderer interface {
	AccessLinkMail(to string, links []AccessLink) (*Mail, error)
}

// maxLinksPerRequest bounds the subscriptions one request owes a link for,
// and maxIndexRead the index entries it reads.
const (
	maxLinksPerRequest = 10
	maxIndexRead       = 50
)

// AccessLinksPerDay is how many access-link requests one address may make
// in a UTC day: past it the request is answered as every other one, and
// owes nothing. With MaxAccessTokens kept, nobody can retire a
// subscriber's working token by asking for links in their name in a day.
const AccessLinksPerDay = 3

// AccessRequests records a request for access links (the DynamoDB store:
// an item under the address's key, whose stream record the notify
// function turns into the links owed, OweAccessLinks).
type AccessRequests interface {
	RequestAccess(ctx context.Context, emailKey string, at time.Time) error
}

// AccessLinkResult says what OweAccessLinks did, for the log.
type AccessLinkResult struct {
	Links int // subscriptions that now owe their subscriber a link
	// Subscriptions are their ids, for a host with no stream to dispatch.
	Subscriptions []string
	Held          int   // skipped: one is owed already, or was a moment ago
	Err           error // failures, each subscription's apart
}

// RequestAccessLinks records a subscriber's request for links to their
// subscriptions (a subscriber on another device). It does the same work
// whatever the address — the client's rate limit, the address's daily
// count, one write of the request — so neither its answer nor its time
// tells whether the address subscribes. The links are owed later, from
// the request's stream record (OweAccessLinks), or at once by
// AccessRequested where there is no stream (jampay serve).
func (s *Service) RequestAccessLinks(ctx context.Context, email, client string) error {
	now := s.Now()
	if err := s.takeRate(ctx, "links#"+client, now); err != nil {
		return err
	}
	reqs, ok := s.Store.(AccessRequests)
	if !ok {
		return errors.New("shop: access links need a store that records their requests")
	}
	key := subscription.EmailKey(email)
	if s.Limiter != nil {
		day := now.UTC().Truncate(24 * time.Hour)
		counted, err := s.Limiter.TakeRate(ctx, "access#"+key+"#"+day.Format("20060102"), AccessLinksPerDay, day.Add(48*time.Hour))
		if err != nil || !counted {
			return err // over the day's count: answered as any other
		}
	}
	if err := reqs.RequestAccess(ctx, key, now); err != nil {
		return err
	}
	if s.AccessRequested != nil {
		s.AccessRequested(ctx, key)
	}
	return nil
}

// OweAccessLinks owes, to the subscriber whose address has emailKey, an
// email with a link to the account page for each of their subscriptions
// that started: an effect in each subscription's outbox, recorded with a
// conditional write and sent once by the dispatcher, which makes the
// link's token only when it sends it (accessLinkMail), so no token is ever
// stored but as a hash. A subscription that owes a link already, or had
// one a moment ago, is left as it is.
func (s *Service) OweAccessLinks(ctx context.Context, emailKey string) (AccessLinkResult, error) {
	var res AccessLinkResult
	index, ok := s.Subs.(subscription.SubscriberIndex)
	if !ok || s.Subs == nil {
		return res, errors.New("shop: access links need a store that indexes subscribers")
	}
	ids, err := index.ByEmail(ctx, emailKey)
	if err != nil {
		return res, err
	}
	for _, id := range ids[:min(len(ids), maxIndexRead)] {
		if res.Links == maxLinksPerRequest {
			break
		}
		owed, held, err := s.oweAccessLink(ctx, id, emailKey)
		res.Held += held
		res.Err = errors.Join(res.Err, err)
		if owed {
			res.Links++
			res.Subscriptions = append(res.Subscriptions, id)
		}
	}
	return res, nil
}

// oweAccessLink records, with a conditional write, that subscription id
// owes its subscriber an access link; held 1 for one that owes one already
// or had one a moment ago, nothing for one that is not this address's or
// never started.
func (s *Service) oweAccessLink(ctx context.Context, id, emailKey string) (owed bool, held int, err error) {
	for attempt := 0; attempt < 5; attempt++ {
		sub, err := s.Subs.GetSubscription(ctx, id)
		if errors.Is(err, order.ErrNotFound) {
			return false, 0, nil
		}
		if err != nil {
			return false, 0, err
		}
		if sub.Email == "" || subscription.EmailKey(sub.Email) != emailKey || sub.Status == subscription.Pending || sub.Status == subscription.Expired {
			return false, 0, nil
		}
		now := s.Now()
		if now.Sub(sub.LinkSentAt) < subscription.AccessLinkEvery || owesAccessLink(sub.Outbox) {
			return false, 1, nil
		}
		next := sub.Clone()
		next.LinkSentAt, next.Version, next.UpdatedAt = now, sub.Version+1, now
		next.Outbox = order.AppendOwed(sub.Outbox, []order.Effect{{OrderID: sub.ID, Version: next.Version,
			Type: subscription.AccessLinkEffect, Mail: subscription.MailAccessLink, OwedAt: now}})
		err = s.Subs.MoveSubscription(ctx, subscription.Move{Next: next, From: sub.Status, FromVersion: sub.Version})
		if err == nil {
			if s.SubscriptionOwed != nil {
				s.SubscriptionOwed(ctx, next)
			}
			return true, 0, nil
		}
		if !errors.Is(err, order.ErrConflict) {
			return false, 0, err
		}
	}
	return false, 0, &order.StoreError{Err: fmt.Errorf("subscription %s kept changing while its access link was owed", id)}
}

// owesAccessLink reports whether an access link is still to send, or
// failed: a new request then owes nothing more, so an address whose mail
// keeps failing cannot grow the outbox.
func owesAccessLink(outbox []order.Owed) bool {
	for _, w := range outbox {
		if w.Type == subscription.AccessLinkEffect && (w.State == order.EffectOwed || w.State == order.EffectClaimed || w.State == order.EffectFailed) {
			return true
		}
	}
	return false
}

// accessLinkMail makes the token an owed access link carries, keeps its
// hash on the subscription (a conditional write, at most MaxAccessTokens
// kept, the oldest retired), and renders the mail; it owes the owner no
// event. With no address or no way to mail, it makes no token: the effect
// is skipped. A dispatcher that dies after keeping the hash and before
// sending leaves one unused token, retired in its turn.
func (s *Service) accessLinkMail(ctx context.Context, sub subscription.Subscription) (*Mail, OwnerEvent, error) {
	r, ok := s.Renderer.(AccessLinkRenderer)
	if strings.TrimSpace(sub.Email) == "" || !s.MailEnabled || s.Mailer == nil {
		return nil, OwnerEvent{}, nil
	}
	if !ok {
		return nil, OwnerEvent{}, errors.New("shop: the renderer cannot render access links")
	}
	if s.AccountURL == "" {
		return nil, OwnerEvent{}, errors.New("shop: access links need the account page's address (SITE_URL)")
	}
	token, hash := s.NewToken()
	for attempt := 0; ; attempt++ {
		if attempt == dispatchWrites {
			return nil, OwnerEvent{}, &order.StoreError{Err: fmt.Errorf("subscription %s kept changing while its access token was kept", sub.ID)}
		}
		cur, err := s.Subs.GetSubscription(ctx, sub.ID)
		if err != nil {
			return nil, OwnerEvent{}, err
		}
		next := cur.Clone()
		next.AccessTokenHashes = append(next.AccessTokenHashes, hash)
		if n := len(next.AccessTokenHashes); n > subscription.MaxAccessTokens {
			next.AccessTokenHashes = next.AccessTokenHashes[n-subscription.MaxAccessTokens:]
		}
		next.Version++
		err = s.Subs.MoveSubscription(ctx, subscription.Move{Next: next, From: cur.Status, FromVersion: cur.Version})
		if err == nil {
			break
		}
		if !errors.Is(err, order.ErrConflict) {
			return nil, OwnerEvent{}, err
		}
	}
	// The token rides in the fragment, which browsers never send to a
	// server: it stays out of every access log.
	link := s.AccountURL + "#subscription=" + url.QueryEscape(sub.ID) + "&token=" + url.QueryEscape(token)
	m, err := r.AccessLinkMail(sub.Email, []AccessLink{{Name: sub.Name, URL: link}})
	return m, OwnerEvent{}, err
}
