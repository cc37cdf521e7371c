import java.lang.reflect.Field;
import java.lang.reflect.Method;

import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;

/**
 * Starts DynamoDB Local bound to 127.0.0.1 only. DynamoDB Local has no host option and its Jetty connector listens on
 * every interface; this launcher builds the server from the usual command line (-inMemory -port N ...), sets the host
 * of each Jetty connector to the loopback address by reflection before starting, then waits like ServerRunner does.
 * It also exits when the process that started it is gone, so a killed test host leaves no server behind.
 * Compiled by tools/setup.d/dynamodb-local.sh into .tools/dynamodb-local/launcher.
 */
public final class LoopbackLauncher {
    private LoopbackLauncher() { }

    public static void main(String[] args) throws Exception {
        // halt, not exit: the server's shutdown hooks could wait on the very threads that keep it alive.
        ProcessHandle.current().parent().ifPresent(parent -> parent.onExit().thenRun(() -> Runtime.getRuntime().halt(0)));
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        if (proxy == null) {
            System.exit(2);
        }
        Field serverField = DynamoDBProxyServer.class.getDeclaredField("server");
        serverField.setAccessible(true);
        Object jetty = serverField.get(proxy);
        Object[] connectors = (Object[]) jetty.getClass().getMethod("getConnectors").invoke(jetty);
        if (connectors == null || connectors.length == 0) {
            throw new IllegalStateException("DynamoDB Local has no Jetty connector to bind");
        }
        for (Object connector : connectors) {
            Method setHost = connector.getClass().getMethod("setHost", String.class);
            setHost.invoke(connector, "127.0.0.1");
        }
        proxy.start();
        System.out.println("DynamoDB Local listening on 127.0.0.1");
        System.out.flush();
        proxy.join();
    }
}
