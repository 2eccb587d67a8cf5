#include "net/tls_channel.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "util/temp_dir.h"

namespace backside::net {
namespace {

// A self-signed certificate for "localhost" and its key, as PEM files.
struct CertificateFiles {
  TempDir dir;
  std::string cert;
  std::string key;

  CertificateFiles() {
    std::filesystem::create_directories(dir.path());
    cert = (dir.path() / "cert.pem").string();
    key = (dir.path() / "key.pem").string();
    EVP_PKEY* pkey = EVP_EC_gen("P-256");
    X509* x509 = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x509), 1);
    X509_gmtime_adj(X509_getm_notBefore(x509), 0);
    X509_gmtime_adj(X509_getm_notAfter(x509), 3600);
    X509_set_pubkey(x509, pkey);
    X509_NAME* name = X509_get_subject_name(x509);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                               0);
    X509_set_issuer_name(x509, name);
    X509_sign(x509, pkey, EVP_sha256());
    FILE* out = std::fopen(cert.c_str(), "w");
    PEM_write_X509(out, x509);
    std::fclose(out);
    out = std::fopen(key.c_str(), "w");
    PEM_write_PrivateKey(out, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(out);
    X509_free(x509);
    EVP_PKEY_free(pkey);
  }
};

// A TLS client on memory BIOs (OpenSSL's own client, not trusting anything: the test is about the server side).
class Client {
 public:
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  Client() {
    context_ = SSL_CTX_new(TLS_client_method());
    ssl_ = SSL_new(context_);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_connect_state(ssl_);
  }
  ~Client() {
    SSL_free(ssl_);
    SSL_CTX_free(context_);
  }
  // What the client has to send.
  std::string output() {
    std::string bytes;
    char buffer[4096];
    int n;
    while ((n = BIO_read(out_, buffer, sizeof buffer)) > 0) bytes.append(buffer, static_cast<std::size_t>(n));
    return bytes;
  }
  void input(const std::string& bytes) { BIO_write(in_, bytes.data(), static_cast<int>(bytes.size())); }
  void handshake() { SSL_do_handshake(ssl_); }
  bool established() { return SSL_is_init_finished(ssl_); }
  void write(const std::string& text) { SSL_write(ssl_, text.data(), static_cast<int>(text.size())); }
  // Plaintext read; sets `closed` on close_notify.
  std::string read(bool* closed = nullptr) {
    std::string text;
    char buffer[4096];
    for (;;) {
      const int n = SSL_read(ssl_, buffer, sizeof buffer);
      if (n > 0) {
        text.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (closed) *closed = SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN;
      return text;
    }
  }
  void close_notify() { SSL_shutdown(ssl_); }
  // A TLS 1.3 session can be resumed once the server has sent a ticket.
  bool holds_ticket() { return SSL_SESSION_is_resumable(SSL_get0_session(ssl_)) == 1; }

 private:
  SSL_CTX* context_;
  SSL* ssl_;
  BIO* in_;
  BIO* out_;
};

class TlsChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto context = TlsContext::load(TlsSettings{.cert_file = files_.cert, .key_file = files_.key});
    ASSERT_TRUE(context) << context.error().message;
    channel_ = std::make_unique<TlsChannel>(*context);
  }

  // Runs the handshake to its end; returns what the server decrypted on the way (nothing).
  void handshake() {
    client_.handshake();
    for (int round = 0; round < 10 && !(client_.established() && channel_->established()); ++round) {
      std::string plaintext;
      ASSERT_EQ(channel_->read(client_.output(), plaintext), TlsChannel::Status::open) << channel_->error();
      EXPECT_EQ(plaintext, "");
      client_.input(channel_->take_output());
      client_.handshake();
    }
    ASSERT_TRUE(client_.established());
    ASSERT_TRUE(channel_->established());
  }

  std::string server_sends(const std::string& text) {
    iovec part{const_cast<char*>(text.data()), text.size()};
    EXPECT_TRUE(channel_->encrypt(std::span<const iovec>(&part, 1)));
    client_.input(channel_->take_output());
    return client_.read();
  }

  CertificateFiles files_;
  Client client_;
  std::unique_ptr<TlsChannel> channel_;
};

TEST_F(TlsChannelTest, HandshakeThenBothWays) {
  const std::string early = "before the handshake";
  iovec part{const_cast<char*>(early.data()), early.size()};
  EXPECT_FALSE(channel_->encrypt(std::span<const iovec>(&part, 1))) << "nothing is encrypted before the handshake";
  handshake();
  EXPECT_EQ(server_sends("hello"), "hello");
  client_.write("ping");
  std::string plaintext;
  EXPECT_EQ(channel_->read(client_.output(), plaintext), TlsChannel::Status::open);
  EXPECT_EQ(plaintext, "ping");
  EXPECT_FALSE(channel_->client_certificate()) << "none was asked for";
}

TEST_F(TlsChannelTest, ManySmallPartsAndALargeOneArriveInOrder) {
  handshake();
  std::string expected;
  std::vector<std::string> pieces;
  for (int i = 0; i < 100; ++i) pieces.push_back("piece " + std::to_string(i) + ";");
  pieces.push_back(std::string(100000, 'x'));
  pieces.push_back("end");
  std::vector<iovec> parts;
  for (auto& piece : pieces) {
    parts.push_back(iovec{piece.data(), piece.size()});
    expected += piece;
  }
  ASSERT_TRUE(channel_->encrypt(parts));
  client_.input(channel_->take_output());
  EXPECT_EQ(client_.read(), expected);
}

TEST_F(TlsChannelTest, ReadIntoASmallBufferLeavesTheRestForTheNextCall) {
  handshake();
  client_.write("0123456789");
  char buffer[4];
  std::size_t decrypted = 0;
  EXPECT_EQ(channel_->read_into(client_.output(), std::span<char>(buffer, 4), decrypted), TlsChannel::Status::open);
  EXPECT_EQ(std::string(buffer, decrypted), "0123");
  EXPECT_TRUE(channel_->has_input());
  std::string rest;
  EXPECT_EQ(channel_->read({}, rest), TlsChannel::Status::open);
  EXPECT_EQ(rest, "456789");
  EXPECT_FALSE(channel_->has_input());
}

TEST_F(TlsChannelTest, RecordsSplitAcrossReadsAreJoined) {
  handshake();
  client_.write("split across reads");
  const std::string records = client_.output();
  std::string plaintext;
  for (char byte : records) {
    ASSERT_EQ(channel_->read(std::string_view(&byte, 1), plaintext), TlsChannel::Status::open);
  }
  EXPECT_EQ(plaintext, "split across reads");
}

TEST_F(TlsChannelTest, CloseNotifyBothWays) {
  handshake();
  channel_->close_notify();
  channel_->close_notify();  // once
  client_.input(channel_->take_output());
  bool closed = false;
  EXPECT_EQ(client_.read(&closed), "");
  EXPECT_TRUE(closed);
  const std::string after = "after close";
  iovec part{const_cast<char*>(after.data()), after.size()};
  EXPECT_FALSE(channel_->encrypt(std::span<const iovec>(&part, 1)));

  client_.close_notify();
  std::string plaintext;
  EXPECT_EQ(channel_->read(client_.output(), plaintext), TlsChannel::Status::closed);
}

TEST_F(TlsChannelTest, GarbageFailsWithAReasonAndStaysFailed) {
  std::string plaintext;
  EXPECT_EQ(channel_->read(std::string("\x16\x03\x01\x00\x05hello-not-tls", 18), plaintext),
            TlsChannel::Status::failed);
  EXPECT_FALSE(channel_->error().empty());
  EXPECT_FALSE(channel_->spoke_plain_http());
  EXPECT_EQ(channel_->read("more", plaintext), TlsChannel::Status::failed);
  EXPECT_EQ(plaintext, "");
}

TEST_F(TlsChannelTest, PlainHttpIsRecognised) {
  std::string plaintext;
  EXPECT_EQ(channel_->read("GET / HTTP/1.1\r\nHost: x\r\n\r\n", plaintext), TlsChannel::Status::failed);
  EXPECT_TRUE(channel_->spoke_plain_http());
}

TEST_F(TlsChannelTest, ATicketFollowsTheHandshake) {
  handshake();
  EXPECT_EQ(server_sends("hello"), "hello");
  EXPECT_TRUE(client_.holds_ticket());
}

// The STOMP port's setting: nothing but the handshake reaches the client before the server's first frame.
class TlsChannelWithoutTicketsTest : public TlsChannelTest {
 protected:
  void SetUp() override {
    auto context =
        TlsContext::load(TlsSettings{.cert_file = files_.cert, .key_file = files_.key, .session_tickets = false});
    ASSERT_TRUE(context) << context.error().message;
    channel_ = std::make_unique<TlsChannel>(*context);
  }
};

TEST_F(TlsChannelWithoutTicketsTest, NoTicketFollowsTheHandshake) {
  handshake();
  EXPECT_EQ(server_sends("hello"), "hello");
  EXPECT_FALSE(client_.holds_ticket());
}

TEST(TlsContext, UnusableFilesAreNamed) {
  CertificateFiles files;
  auto missing = TlsContext::load(TlsSettings{.cert_file = files.cert + ".missing", .key_file = files.key});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot read the certificate"), std::string::npos);
  CertificateFiles other;
  auto mismatched = TlsContext::load(TlsSettings{.cert_file = files.cert, .key_file = other.key});
  ASSERT_FALSE(mismatched);
  EXPECT_NE(mismatched.error().message.find("does not belong to the certificate"), std::string::npos);
  auto no_ca = TlsContext::load(TlsSettings{.cert_file = files.cert,
                                            .key_file = files.key,
                                            .client_certificates = ClientCertificates::required});
  ASSERT_FALSE(no_ca);
  EXPECT_NE(no_ca.error().message.find("need a CA file"), std::string::npos);
  auto good = TlsContext::load(TlsSettings{.cert_file = files.cert, .key_file = files.key});
  ASSERT_TRUE(good);
  EXPECT_NE((*good)->description().find("CN=localhost, expires "), std::string::npos);
}

}  // namespace
}  // namespace backside::net
