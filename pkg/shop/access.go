package shop

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

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

// maxLinksPerRequest bounds the subscriptions one request owes a link for.
const maxLinksPerRequest = 10

// AccessLinkResult says what RequestAccessLinks did, for the log: never for
// the answer, which is the same whatever happened (nothing revealed).
type AccessLinkResult struct {
	Links int   // subscriptions that now owe their subscriber a link
	Held  int   // skipped: a link was asked less than AccessLinkEvery ago
	Err   error // a failure after the address was found (not answered)
}

// RequestAccessLinks owes, to a subscriber with that address, an email with
// a link to the account page for each of their subscriptions (a subscriber
// on another device): an effect in each subscription's outbox, recorded
// with a conditional write and sent once by the dispatcher, which makes
// the link's token only when it sends it (accessLinkMail), so no token is
// ever stored but as a hash. Requests count against the client's rate
// limit like checkouts, and a subscription owes at most one link per
// subscription.AccessLinkEvery, so the route cannot flood an inbox. The
// error is for what happened before anything about the address was known
// (the rate limit, the store): the caller answers the same whatever else
// happened.
func (s *Service) RequestAccessLinks(ctx context.Context, email, client string) (AccessLinkResult, error) {
	var res AccessLinkResult
	if err := s.takeRate(ctx, "links#"+client, s.Now()); err != nil {
		return res, err
	}
	index, ok := s.Subs.(subscription.SubscriberIndex)
	if !ok || s.Subs == nil {
		return res, errors.New("shop: access links need a store that indexes subscribers")
	}
	ids, err := index.ByEmail(ctx, subscription.EmailKey(email))
	if err != nil {
		return res, err
	}
	for _, id := range ids[:min(len(ids), maxLinksPerRequest)] {
		owed, held, err := s.oweAccessLink(ctx, id, email)
		res.Held += held
		res.Err = errors.Join(res.Err, err)
		if owed {
			res.Links++
		}
	}
	return res, nil
}

// oweAccessLink records, with a conditional write, that subscription id
// owes its subscriber an access link; held 1 for one asked a moment ago,
// nothing for one that is not this address's or never started.
func (s *Service) oweAccessLink(ctx context.Context, id, email string) (owed bool, held int, err error) {
	for attempt := 0; attempt < 5; attempt++ {
		sub, err := s.Subs.GetSubscription(ctx, id)
		if errors.Is(err, order.ErrNotFound) {
			return false, 0, nil
		}
		if err != nil {
			return false, 0, err
		}
		if !strings.EqualFold(strings.TrimSpace(sub.Email), strings.TrimSpace(email)) || sub.Status == subscription.Pending || sub.Status == subscription.Expired {
			return false, 0, nil
		}
		now := s.Now()
		if now.Sub(sub.LinkSentAt) < subscription.AccessLinkEvery {
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
