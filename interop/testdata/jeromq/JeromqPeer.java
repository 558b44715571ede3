// JeromqPeer is a JeroMQ socket that the interop tests start as a process
// of its own (see jeromq_test.go), compiled against Debian's libjeromq-java.
//
//   dealer ENDPOINT IDENTITY N  a DEALER that sends N messages, each
//                               [dN, "", 300 x 'x'], and wants each back
//   req ENDPOINT N              a REQ that sends rN and wants rN back
//   router ENDPOINT N           a bound ROUTER that prints "id=ID" for the
//                               first message and sends N messages back
//   rep ENDPOINT NAME           a REP worker that answers each request R
//                               with NAME:R until it is killed
//
// It prints "zmq=VERSION" first (the libzmq version that the JeroMQ it
// runs on follows: 3.2.x for 0.3.6, 4.1.x for 0.6), "ready" once its
// socket is connected or bound, "ok" when its work is done, and
// "FAIL: why" with exit status 1 when it fails. It compiles against
// JeroMQ 0.3.6 and 0.6 alike.
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.zeromq.ZMQ;

public final class JeromqPeer {
    private static final int TIMEOUT_MS = 10000;

    public static void main(String[] args) {
        System.out.println("zmq=" + ZMQ.getVersionString());
        ZMQ.Context ctx = ZMQ.context(1);
        try {
            run(ctx, args);
            System.out.println("ok");
        } catch (Exception e) {
            System.out.println("FAIL: " + e.getMessage());
            System.out.flush();
            System.exit(1);
        }
        System.out.flush();
        System.exit(0); // without waiting for the context's threads
    }

    private static void run(ZMQ.Context ctx, String[] a) throws Exception {
        switch (a[0]) {
        case "dealer": {
            ZMQ.Socket s = open(ctx, ZMQ.DEALER);
            s.setIdentity(bytes(a[2]));
            s.connect(a[1]);
            ready();
            int n = Integer.parseInt(a[3]);
            byte[] big = new byte[300];
            Arrays.fill(big, (byte) 'x');
            for (int i = 0; i < n; i++) {
                List<byte[]> msg = List.of(bytes("d" + i), new byte[0], big);
                send(s, msg);
                expect(msg, recv(s));
            }
            s.close();
            break;
        }
        case "req": {
            ZMQ.Socket s = open(ctx, ZMQ.REQ);
            s.connect(a[1]);
            ready();
            int n = Integer.parseInt(a[2]);
            for (int i = 0; i < n; i++) {
                List<byte[]> msg = List.of(bytes("r" + i));
                send(s, msg);
                expect(msg, recv(s));
            }
            s.close();
            break;
        }
        case "router": {
            ZMQ.Socket s = open(ctx, ZMQ.ROUTER);
            s.bind(a[1]);
            ready();
            int n = Integer.parseInt(a[2]);
            for (int i = 0; i < n; i++) {
                List<byte[]> msg = recv(s);
                if (i == 0) {
                    System.out.println("id=" + new String(msg.get(0), StandardCharsets.UTF_8));
                }
                send(s, msg);
            }
            // The last reply goes out before the context ends.
            s.setLinger(TIMEOUT_MS);
            s.close();
            ctx.term();
            break;
        }
        case "rep": {
            ZMQ.Socket s = open(ctx, ZMQ.REP);
            s.setReceiveTimeOut(-1);
            s.connect(a[1]);
            ready();
            while (true) {
                List<byte[]> req = recv(s);
                send(s, List.of(bytes(a[2] + ":" + new String(req.get(0), StandardCharsets.UTF_8))));
                System.out.println("handled");
                System.out.flush();
            }
        }
        default:
            throw new Exception("unknown mode " + a[0]);
        }
    }

    private static ZMQ.Socket open(ZMQ.Context ctx, int type) throws Exception {
        ZMQ.Socket s = ctx.socket(type);
        s.setLinger(0);
        s.setReceiveTimeOut(TIMEOUT_MS);
        s.setSendTimeOut(TIMEOUT_MS);
        shortHandshake(s);
        return s;
    }

    // JeroMQ 0.6 now and then leaves a new connection silent: it never
    // sends its greeting, whichever server it meets (zrouter, libzmq and
    // go-zeromq/zmq4 alike, a few connects in a thousand). What recovers
    // is its handshake timer, which closes the connection and reconnects;
    // its default, 30s, is longer than TIMEOUT_MS, so it is 1s here.
    // JeroMQ 0.3.6 has no handshake timer (libzmq 3.2 had none), hence the
    // lookup by name.
    private static void shortHandshake(ZMQ.Socket s) throws Exception {
        java.lang.reflect.Method m;
        try {
            m = s.getClass().getMethod("setHandshakeIvl", int.class);
        } catch (NoSuchMethodException e) {
            return;
        }
        m.invoke(s, 1000);
    }

    private static void ready() {
        System.out.println("ready");
        System.out.flush();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void send(ZMQ.Socket s, List<byte[]> msg) throws Exception {
        for (int i = 0; i < msg.size(); i++) {
            if (!s.send(msg.get(i), i < msg.size() - 1 ? ZMQ.SNDMORE : 0)) {
                throw new Exception("send timed out");
            }
        }
    }

    private static List<byte[]> recv(ZMQ.Socket s) throws Exception {
        List<byte[]> msg = new ArrayList<>();
        do {
            byte[] f = s.recv(0);
            if (f == null) {
                throw new Exception("recv timed out");
            }
            msg.add(f);
        } while (s.hasReceiveMore());
        return msg;
    }

    private static void expect(List<byte[]> want, List<byte[]> got) throws Exception {
        boolean same = want.size() == got.size();
        for (int i = 0; same && i < want.size(); i++) {
            same = Arrays.equals(want.get(i), got.get(i));
        }
        if (!same) {
            throw new Exception("got a message of " + got.size() + " frames, not the one sent");
        }
    }
}
