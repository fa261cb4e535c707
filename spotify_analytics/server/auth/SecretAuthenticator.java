/*
 * HiveServer2's CUSTOM authentication for the lakehouse server's Thrift port: a client's password must be the
 * lakehouse secret, which the server process holds in the environment variable SPARK_CONNECT_AUTHENTICATE_TOKEN
 * (the same one Spark Connect reads its token from). The user name is not checked: there is one secret per
 * lakehouse, not one per user.
 *
 * Compiled at setup (and on a server start that finds no compiled class) with the Janino compiler that pyspark
 * ships (spotify_analytics/server/authenticator.py), so neither a JDK nor a binary in the repository is needed.
 * Janino compiles a subset of Java: keep this file to plain Java 7.
 */
package spotify_analytics.server.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import javax.security.sasl.AuthenticationException;
import org.apache.hive.service.auth.PasswdAuthenticationProvider;

public class SecretAuthenticator implements PasswdAuthenticationProvider {
    static final String SECRET_VARIABLE = "SPARK_CONNECT_AUTHENTICATE_TOKEN";

    public void Authenticate(String user, String password) throws AuthenticationException {
        String secret = System.getenv(SECRET_VARIABLE);
        if (secret == null || secret.isEmpty()) {
            throw new AuthenticationException("The lakehouse server was started without its secret");
        }
        if (password == null || password.isEmpty()) {
            throw new AuthenticationException("Refused a Thrift client of user " + user + ": it sent no secret");
        }
        // A comparison whose time does not depend on where the two differ.
        if (!MessageDigest.isEqual(secret.getBytes(StandardCharsets.UTF_8), password.getBytes(StandardCharsets.UTF_8))) {
            throw new AuthenticationException("Refused a Thrift client of user " + user + ": wrong secret");
        }
    }
}
