package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// getCallerIdentity is STS's one call that needs no permission: every
// principal may ask who it is.
const getCallerIdentity = "Action=GetCallerIdentity&Version=2011-06-15"

// callerARN asks STS whose the credentials are (GetCallerIdentity), for the
// history's "who acted": an IAM user, or an assumed role with its session
// name (arn:aws:sts::…:assumed-role/Admin/alice). It makes the call itself,
// signed with the SDK's SigV4 signer, as pkg/ssmsecrets does: the SDK's
// STS package would add its client and schemas to the binary for one call.
// endpoint overrides the regional one (AWS_ENDPOINT_URL_STS).
func callerARN(ctx context.Context, a *awsAccess, endpoint string) (string, error) {
	if endpoint == "" {
		domain := "amazonaws.com"
		if strings.HasPrefix(a.region, "cn-") {
			domain = "amazonaws.com.cn"
		}
		endpoint = "https://sts." + a.region + "." + domain + "/"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(getCallerIdentity))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	creds, err := a.creds.Retrieve(ctx)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(getCallerIdentity))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sts", a.region, time.Now().UTC()); err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("STS GetCallerIdentity: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	// STS answers in XML, errors included (its Query protocol).
	var out struct {
		Arn   string `xml:"GetCallerIdentityResult>Arn"`
		Error struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
	}
	_ = xml.Unmarshal(body, &out)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("STS GetCallerIdentity answered %d %s: %s (are the AWS credentials current?)", resp.StatusCode, out.Error.Code, out.Error.Message)
	}
	if out.Arn == "" {
		return "", fmt.Errorf("STS GetCallerIdentity answered no Arn")
	}
	return out.Arn, nil
}
