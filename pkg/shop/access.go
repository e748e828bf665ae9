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

// AccessLinkRenderer renders the access-link mail. It is sent at once, not
// through the outbox: it carries fresh tokens, which jampay never stores.
type AccessLinkRenderer interface {
	AccessLinkMail(to string, links []AccessLink) (*Mail, error)
}

// maxLinksPerMail bounds the subscriptions one access-link mail names.
const maxLinksPerMail = 10

// AccessLinkResult says what SendAccessLinks did, for the log: never for
// the answer, which is the same whatever happened (nothing revealed).
type AccessLinkResult struct {
	Links int   // subscriptions given a fresh link
	Held  int   // skipped: a link went out less than AccessLinkEvery ago
	Err   error // a failure after the address was found (not answered)
}

// SendAccessLinks emails, to a subscriber with that address, a link to the
// account page for each of their subscriptions, each with a new token (a
// subscriber on another device). Requests count against the client's rate
// limit like checkouts, and a subscription gets at most one link per
// subscription.AccessLinkEvery, so the route cannot flood an inbox. The
// error is for what happened before anything about the address was known
// (the rate limit, the store): the caller answers the same whatever else
// happened.
func (s *Service) SendAccessLinks(ctx context.Context, email, client string) (AccessLinkResult, error) {
	var res AccessLinkResult
	now := s.Now()
	if err := s.takeRate(ctx, "links#"+client, now); err != nil {
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
	var links []AccessLink
	for _, id := range ids {
		if len(links) == maxLinksPerMail {
			break
		}
		link, held, err := s.accessLink(ctx, id, email)
		res.Held += held
		if err != nil {
			res.Err = errors.Join(res.Err, err)
			continue
		}
		if link != nil {
			links = append(links, *link)
		}
	}
	res.Links = len(links)
	if len(links) == 0 {
		return res, nil
	}
	r, ok := s.Renderer.(AccessLinkRenderer)
	if !ok || !s.MailEnabled || s.Mailer == nil {
		res.Err = errors.Join(res.Err, errors.New("access links made, but no mail can be sent (MAIL_FROM unset)"))
		return res, nil
	}
	m, err := r.AccessLinkMail(email, links)
	if err == nil {
		err = s.Mailer.Send(ctx, *m)
	}
	res.Err = errors.Join(res.Err, err)
	return res, nil
}

// accessLink gives subscription id a fresh token, recorded with a
// conditional write, and returns its link; nil (and held 1) for one that
// had a link a moment ago, nil for one that is not this address's or
// never started.
func (s *Service) accessLink(ctx context.Context, id, email string) (*AccessLink, int, error) {
	for attempt := 0; attempt < 5; attempt++ {
		sub, err := s.Subs.GetSubscription(ctx, id)
		if errors.Is(err, order.ErrNotFound) {
			return nil, 0, nil
		}
		if err != nil {
			return nil, 0, err
		}
		if !strings.EqualFold(strings.TrimSpace(sub.Email), strings.TrimSpace(email)) || sub.Status == subscription.Pending || sub.Status == subscription.Expired {
			return nil, 0, nil
		}
		now := s.Now()
		if now.Sub(sub.LinkSentAt) < subscription.AccessLinkEvery {
			return nil, 1, nil
		}
		token, hash := s.NewToken()
		next := sub.Clone()
		next.AccessTokenHashes = append(next.AccessTokenHashes, hash)
		if n := len(next.AccessTokenHashes); n > subscription.MaxAccessTokens {
			next.AccessTokenHashes = next.AccessTokenHashes[n-subscription.MaxAccessTokens:]
		}
		next.LinkSentAt, next.Version, next.UpdatedAt = now, sub.Version+1, now
		err = s.Subs.MoveSubscription(ctx, subscription.Move{Next: next, From: sub.Status, FromVersion: sub.Version})
		if err == nil {
			// The token rides in the fragment, which browsers never send
			// to a server: it stays out of every access log.
			u := s.AccountURL + "#subscription=" + url.QueryEscape(sub.ID) + "&token=" + url.QueryEscape(token)
			return &AccessLink{Name: sub.Name, URL: u}, 0, nil
		}
		if !errors.Is(err, order.ErrConflict) {
			return nil, 0, err
		}
	}
	return nil, 0, &order.StoreError{Err: fmt.Errorf("subscription %s kept changing while its access link was made", id)}
}
