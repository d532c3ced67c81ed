"""The secure round, stage by stage, over stores and key rings (no Prefect).

``fedring.secagg`` is the arithmetic; this package moves its inputs and outputs
between accounts as sealed objects, one stage at a time, so that each stage is a
function of (run, round, account, stage) that a flow can call, retry or skip:

1. advertise   (client) round secrets sealed to itself; public key and Shamir
               shares (each sealed to its holder) to its outbox.
2. relay       (host)   round key list and shares copied into the holders' inboxes.
3. contribute  (client) train, quantise, mask with the neighbours that advertised;
               the masked vector stays in ``private/``, sealed to itself.
4. ring-hop    (client) open the partial sum sealed to it, add its masked vector,
               seal the result to the next hop (or the host); the host relays it
               and bypasses a failed hop by asking the previous one to re-seal.
5. reveal      (client) shares for survivors (self-mask) and dropped (key), sealed
               to the host; never both for one peer.
6. unmask      (host)   ring sums + revealed shares -> exact quantised sum ->
               mean update -> new global model, sealed to the participants.

Every output is a sealed envelope whose context names run, round, stage, sender
and recipient: a replayed or mis-routed object fails to open with IntegrityError.
"""
