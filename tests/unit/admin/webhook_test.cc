// approvals.notify URL parsing: what the notifier will connect to, and what it refuses.
#include <gtest/gtest.h>

#include "admin/webhook.h"

namespace phigate::admin {
namespace {

TEST(WebhookUrl, Accepts) {
  auto a = parse_webhook_url("http://127.0.0.1:9100/hook?x=1");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->tls);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, "9100");
  EXPECT_EQ(a->target, "/hook?x=1");
  auto b = parse_webhook_url("https://hooks.example.com");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->tls);
  EXPECT_EQ(b->port, "443");
  EXPECT_EQ(b->target, "/");
  auto c = parse_webhook_url("http://[::1]:8080?q");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->target, "/?q");
}

TEST(WebhookUrl, Refuses) {
  for (const char* bad : {"ftp://x/", "http://", "http://:80/", "http://user:pw@host/",
                          "http://h:0/", "http://h:65536/", "http://h:8x/", "http://[::1/",
                          "http://[::1]x/", "http://h/a b", "http://h/a\r\nX: y", "hook"}) {
    EXPECT_FALSE(parse_webhook_url(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace phigate::admin
