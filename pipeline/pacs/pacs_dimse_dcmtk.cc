/* DIMSE through DCMTK's dcmnet (DcmSCU) behind the C API of pacs_dimse.h: C-ECHO,
 * C-FIND (study root), C-GET (study root; the instances arrive as C-STORE requests on
 * the same association, so no storage SCP or port of ours is needed), C-MOVE (to our own
 * storage SCP, DcmSCP on a thread listening on the port given, for servers without
 * C-GET) and C-STORE.
 * Every association has connect, ACSE and DIMSE timeouts (the endpoint's timeout_s) in
 * non-blocking mode, so a server that accepts and never answers ends in an error. What
 * the server sends is checked: records and instances without valid UIDs are dropped, the
 * result count is bounded, and an arriving instance is written to a temporary name and
 * renamed only when complete.
 * With ep->tls every association (and the C-MOVE SCP) runs over TLS (DCMTK's dcmtls on
 * OpenSSL, BCP 195 non-downgrading profile): the peer's certificate must chain to --ca (or
 * the system's CAs in /etc/ssl/certs) unless --insecure; --cert / --key are ours. DCMTK
 * checks the chain, not the host name in the certificate. */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmnet/scp.h"
#include "dcmtk/dcmnet/dcmtrans.h"
#include "dcmtk/dcmnet/scu.h"
#include "dcmtk/dcmtls/tlslayer.h"
#include "dcmtk/oflog/oflog.h"

#include "io/dicom_load_dcmtk.h"
#include "pipeline/pacs/pacs_dimse.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

std::once_flag log_once;

/* DCMTK's own log stays quiet: every problem reaches the caller as a c2_err. */
void quiet_log()
{
    std::call_once(log_once, [] { OFLog::configure(OFLogger::FATAL_LOG_LEVEL); });
}

std::string peer_name(const pacs_endpoint *ep)
{
    char b[400];
    snprintf(b, sizeof b, "dicom://%s@%s:%d", ep->called_aet, ep->host, ep->port);
    return b;
}

/* Servers such as Orthanc accept an association from an unknown AE title and abort it
 * at the first query or retrieve. */
std::string abort_hint(const pacs_endpoint *ep, const OFCondition &c)
{
    if (c != DUL_PEERABORTEDASSOCIATION)
        return "";
    return std::string(" (is the server still running, and does it allow queries and retrieves from our AE title ") +
           ep->calling_aet + "? It must be registered there, e.g. in Orthanc's DicomModalities)";
}

/* A TLS transport layer for ep (role NET_REQUESTOR: our SCU; NET_ACCEPTOR: the C-MOVE
 * SCP, which must have a certificate), or null with e filled. */
std::unique_ptr<DcmTLSTransportLayer> tls_layer(const pacs_endpoint *ep, T_ASC_NetworkRole role, c2_err *e)
{
    std::unique_ptr<DcmTLSTransportLayer> t(new DcmTLSTransportLayer(role, NULL, OFTrue));
    const char *what = "";
    OFCondition c = EC_Normal;
    if (!*t)
        what = "cannot set up TLS (OpenSSL)";
    else if ((c = t->setTLSProfile(TSP_Profile_BCP195_ND)).bad() || (c = t->activateCipherSuites()).bad())
        what = "cannot set the TLS cipher suites";
    else if (ep->ca_file && (c = t->addTrustedCertificateFile(ep->ca_file, DCF_Filetype_PEM)).bad())
        what = "cannot read the CA certificates of --ca";
    else if (!ep->ca_file && (c = t->addTrustedCertificateDir("/etc/ssl/certs", DCF_Filetype_PEM)).bad())
        what = "cannot read the system's CA certificates in /etc/ssl/certs";
    else if (ep->key_file && (c = t->setPrivateKeyFile(ep->key_file, DCF_Filetype_PEM)).bad())
        what = "cannot read the private key of --key (PEM, unencrypted)";
    else if (ep->cert_file && (c = t->setCertificateFile(ep->cert_file, DCF_Filetype_PEM)).bad())
        what = "cannot read the certificate of --cert (PEM)";
    else if (ep->cert_file && !t->checkPrivateKeyMatchesCertificate())
        what = "the private key of --key does not belong to the certificate of --cert";
    if (what[0]) {
        const char *file = strstr(what, "--ca") ? ep->ca_file : strstr(what, "--key") ? ep->key_file
                           : strstr(what, "--cert")                                     ? ep->cert_file
                                                                                        : "";
        c2_fail(e, C2_EINVAL, "%s%s%s%s%s", file, file[0] ? ": " : "", what, c.bad() ? ": " : "", c.bad() ? c.text() : "");
        return nullptr;
    }
    /* the C-MOVE SCP checks a certificate the server shows, our SCU requires one */
    t->setCertificateVerification(ep->insecure ? DCV_ignoreCertificate
                                  : role == NET_ACCEPTOR ? DCV_checkCertificate : DCV_requireCertificate);
    /* the TLS handshake reads and writes with these socket timeouts: a server that accepts
     * and never answers ends in an error too */
    Sint32 t_s = ep->timeout_s > 0 ? ep->timeout_s : 30;
    dcmSocketReceiveTimeout.set(t_s);
    dcmSocketSendTimeout.set(t_s);
    return t;
}

/* A hint for an association that failed before its negotiation ended (not a rejection). */
const char *tls_hint(const pacs_endpoint *ep, const OFCondition &c)
{
    if (!ep->tls)
        return c == DUL_PEERABORTEDASSOCIATION ? " (does the server want DICOM over TLS on this port? see --tls)" : "";
    if (strstr(c.text(), "certificate verify failed"))
        return ep->ca_file ? " (the server's certificate does not chain to --ca; give the CA that signed it)"
                           : " (the server's certificate does not chain to the system's CAs; give its CA with --ca)";
    return " (does the server speak DICOM over TLS on this port, and does it accept our certificate, --cert / --key?)";
}

OFList<OFString> syntaxes_plain()
{
    OFList<OFString> l;
    l.push_back(UID_LittleEndianExplicitTransferSyntax);
    l.push_back(UID_LittleEndianImplicitTransferSyntax);
    return l;
}

/* The compressed syntaxes offered for retrieved images, one presentation context each, so
 * that the server can send the stored bytes instead of transcoding (a server that must
 * transcode, e.g. JPEG 2000 without a decoder, fails the sub-operation). */
const char *const compressed_syntaxes[] = {UID_JPEGProcess14SV1TransferSyntax, UID_JPEGProcess1TransferSyntax,
                                           UID_JPEGProcess2_4TransferSyntax,   UID_JPEGLSLosslessTransferSyntax,
                                           UID_JPEG2000LosslessOnlyTransferSyntax, UID_JPEG2000TransferSyntax,
                                           UID_RLELosslessTransferSyntax};

/* The storage SOP classes offered for C-GET: images (uncompressed and each compressed
 * syntax) and the non-image objects this toolkit reads or writes (uncompressed and
 * deflated); 12 * 9 + 6 contexts, under the 128 an association may carry. */
const char *const image_classes[] = {UID_CTImageStorage,
                                     UID_EnhancedCTImageStorage,
                                     UID_MRImageStorage,
                                     UID_EnhancedMRImageStorage,
                                     UID_ComputedRadiographyImageStorage,
                                     UID_DigitalXRayImageStorageForPresentation,
                                     UID_DigitalXRayImageStorageForProcessing,
                                     UID_DigitalMammographyXRayImageStorageForPresentation,
                                     UID_SecondaryCaptureImageStorage,
                                     UID_PositronEmissionTomographyImageStorage,
                                     UID_UltrasoundImageStorage,
                                     UID_XRayAngiographicImageStorage};
const char *const other_classes[] = {UID_SegmentationStorage,      UID_ComprehensiveSRStorage,
                                     UID_BasicTextSRStorage,       UID_EnhancedSRStorage,
                                     UID_KeyObjectSelectionDocumentStorage, UID_GrayscaleSoftcopyPresentationStateStorage};

void offer_storage(DcmSCU &scu)
{
    OFList<OFString> plain = syntaxes_plain();
    plain.push_back(UID_DeflatedExplicitVRLittleEndianTransferSyntax);
    OFList<OFString> implicit;
    implicit.push_back(UID_LittleEndianImplicitTransferSyntax);
    for (const char *cls : image_classes) {
        scu.addPresentationContext(cls, plain, ASC_SC_ROLE_SCP);
        scu.addPresentationContext(cls, implicit, ASC_SC_ROLE_SCP); /* so implicit VR files need no transcoding */
        for (const char *ts : compressed_syntaxes) {
            OFList<OFString> one;
            one.push_back(ts);
            scu.addPresentationContext(cls, one, ASC_SC_ROLE_SCP);
        }
    }
    for (const char *cls : other_classes)
        scu.addPresentationContext(cls, plain, ASC_SC_ROLE_SCP);
}

/* The keys of a C-GET / C-MOVE: one series, or one instance of it (sop). */
void retrieve_keys(DcmDataset &keys, const char *study_uid, const char *series_uid, const char *sop)
{
    keys.putAndInsertString(DCM_QueryRetrieveLevel, sop ? "IMAGE" : "SERIES");
    keys.putAndInsertString(DCM_StudyInstanceUID, study_uid);
    keys.putAndInsertString(DCM_SeriesInstanceUID, series_uid);
    if (sop)
        keys.putAndInsertString(DCM_SOPInstanceUID, sop);
}

/* Frees the responses of a C-GET / C-MOVE; returns the last status and adds the failed
 * sub-operations the final (not pending) ones report to *failed_subops. */
Uint16 responses_done(OFList<RetrieveResponse *> &responses, int *failed_subops)
{
    Uint16 final_status = 0;
    for (RetrieveResponse *r : responses) {
        final_status = r->m_status;
        if (!DICOM_PENDING_STATUS(r->m_status))
            *failed_subops += r->m_numberOfFailedSubops;
        delete r;
    }
    return final_status;
}

void get_string(DcmItem *ds, const DcmTagKey &k, char *out, size_t cap)
{
    OFString s;
    out[0] = 0;
    if (ds && ds->findAndGetOFStringArray(k, s).good())
        pacs_copy_text(out, cap, s.c_str(), s.length());
}

void record_from(DcmItem *ds, pacs_record *r)
{
    std::memset(r, 0, sizeof *r);
    get_string(ds, DCM_PatientID, r->patient_id, sizeof r->patient_id);
    get_string(ds, DCM_StudyInstanceUID, r->study_uid, sizeof r->study_uid);
    get_string(ds, DCM_SeriesInstanceUID, r->series_uid, sizeof r->series_uid);
    get_string(ds, DCM_SOPInstanceUID, r->sop_uid, sizeof r->sop_uid);
    get_string(ds, DCM_SOPClassUID, r->sop_class, sizeof r->sop_class);
    get_string(ds, DCM_AccessionNumber, r->accession, sizeof r->accession);
    get_string(ds, DCM_StudyDate, r->study_date, sizeof r->study_date);
    get_string(ds, DCM_Modality, r->modality, sizeof r->modality);
    if (!r->modality[0])
        get_string(ds, DCM_ModalitiesInStudy, r->modality, sizeof r->modality);
    char n[32];
    get_string(ds, DCM_NumberOfSeriesRelatedInstances, n, sizeof n);
    if (!n[0])
        get_string(ds, DCM_NumberOfStudyRelatedInstances, n, sizeof n);
    char *end;
    long long v = strtoll(n, &end, 10);
    r->n_instances = n[0] && !*end && v >= 0 ? v : -1;
}

/* Where retrieved instances go (C-GET's SCU and C-MOVE's storage SCP alike): checked
 * against the study / series asked for, placed by the sink, written to a temporary name
 * in the transfer syntax they arrived in, renamed. Returns the C-STORE status. */
struct Receiver {
    std::mutex mu; /* C-MOVE: take() runs on the SCP's thread */
    const pacs_sink *sink = nullptr;
    const char *want_study = nullptr, *want_series = nullptr;
    int stored = 0, write_failed = 0, foreign = 0;
    std::string write_error;

    void aim(const pacs_sink *k, const char *study, const char *series)
    {
        std::lock_guard<std::mutex> g(mu);
        sink = k;
        want_study = study;
        want_series = series;
        stored = write_failed = foreign = 0;
        write_error.clear();
    }

    Uint16 take(DcmDataset *obj)
    {
        std::lock_guard<std::mutex> g(mu);
        if (!sink)
            return STATUS_STORE_Refused_OutOfResources; /* nothing asked for now */
        pacs_record r;
        record_from(obj, &r);
        char path[4096];
        if (!pacs_is_uid(r.sop_uid) || !pacs_is_uid(r.study_uid) || !pacs_is_uid(r.series_uid) ||
            std::strcmp(r.study_uid, want_study) != 0 || std::strcmp(r.series_uid, want_series) != 0) {
            foreign++; /* not what we asked for: acknowledged, not kept */
            return STATUS_Success;
        }
        if (sink->place(sink->user, &r, path, sizeof path) != 1)
            return STATUS_Success;
        char tmp[4200];
        c2_temp_name(tmp, sizeof tmp, path);
        E_TransferSyntax xfer = obj->getOriginalXfer();
        DcmFileFormat ff(obj);
        OFCondition c = ff.saveFile(tmp, xfer == EXS_Unknown ? EXS_LittleEndianExplicit : xfer);
        c2_err we = {0, {0}};
        if (c.bad() || c2_rename_into_place(tmp, path, &we) != C2_OK) {
            remove(tmp);
            write_failed++;
            if (write_error.empty())
                write_error = c.bad() ? std::string(path) + ": " + c.text() : we.msg;
            return STATUS_STORE_Refused_OutOfResources;
        }
        stored++;
        if (sink->stored)
            sink->stored(sink->user, &r, path);
        return STATUS_Success;
    }
};

/* DcmSCU with our timeouts, the findings of C-FIND and the receiver of C-GET. */
class Scu : public DcmSCU {
public:
    explicit Scu(const pacs_endpoint *ep) : ep_(ep)
    {
        quiet_log();
        setAETitle(ep->calling_aet);
        setPeerAETitle(ep->called_aet);
        setPeerHostName(ep->host);
        setPeerPort((Uint16)ep->port);
        Uint32 t = (Uint32)(ep->timeout_s > 0 ? ep->timeout_s : 30);
        setConnectionTimeout((Sint32)t);
        setACSETimeout(t);
        setDIMSETimeout(t);
        setDIMSEBlockingMode(DIMSE_NONBLOCKING);
        setMaxReceivePDULength(65536);
    }
    ~Scu() override
    {
        if (isConnected())
            releaseAssociation();
        freeNetwork(); /* before tls_, which the network uses */
    }

    /* Opens the association (over TLS with ep->tls); fills e with the reason on failure. */
    int open(c2_err *e)
    {
        if (ep_->tls && !(tls_ = tls_layer(ep_, NET_REQUESTOR, e)))
            return e ? e->code : C2_EINVAL;
        OFCondition c = initNetwork();
        if (c.good() && tls_)
            c = useSecureConnection(tls_.get());
        if (c.good())
            c = negotiateAssociation();
        if (c.bad()) {
            const char *hint = c == DUL_ASSOCIATIONREJECTED ? " (is our AE title registered with the server, "
                                                                 "and is the called AE title right?)"
                               : std::strstr(c.text(), "refused") ? " (is the server running?)"
                                                                  : tls_hint(ep_, c);
            return c2_fail(e, C2_EIO, "%s: cannot open %s association as %s: %s%s", peer_name(ep_).c_str(),
                           ep_->tls ? "a TLS" : "an", ep_->calling_aet, c.text(), hint);
        }
        return C2_OK;
    }

    std::vector<pacs_record> found;
    pacs_level level = PACS_STUDY;
    int overflow = 0, dropped = 0;

    OFCondition handleFINDResponse(const T_ASC_PresentationContextID presID, QRResponse *response,
                                   OFBool &waitForNextResponse) override
    {
        OFCondition c = DcmSCU::handleFINDResponse(presID, response, waitForNextResponse);
        if (response->m_dataset && DICOM_PENDING_STATUS(response->m_status)) {
            pacs_record r;
            record_from(response->m_dataset, &r);
            const char *own = level == PACS_STUDY ? r.study_uid : level == PACS_SERIES ? r.series_uid : r.sop_uid;
            if (!pacs_is_uid(own))
                dropped++;
            else if (found.size() >= (size_t)PACS_MAX_RESULTS) {
                overflow = 1;
                sendCANCELRequest(presID);
                waitForNextResponse = OFFalse;
            } else
                found.push_back(r);
        }
        return c;
    }

    Receiver rx;

    OFCondition handleSTORERequest(const T_ASC_PresentationContextID /*presID*/, DcmDataset *obj,
                                   OFBool &continueCGETSession, Uint16 &status) override
    {
        continueCGETSession = OFTrue;
        status = STATUS_Success;
        if (!obj)
            return DIMSE_NULLKEY;
        status = rx.take(obj);
        delete obj;
        return EC_Normal;
    }

private:
    const pacs_endpoint *ep_;
    std::unique_ptr<DcmTLSTransportLayer> tls_;
};

/* Our storage SCP for C-MOVE: accepts the storage classes of offer_storage, hands each
 * C-STORE to the receiver, and leaves its accept loop within a second of stop. */
class MoveScp : public DcmSCP {
public:
    MoveScp(const pacs_endpoint *ep, int port)
    {
        DcmSCPConfig &cfg = getConfig();
        cfg.setPort((Uint16)port);
        cfg.setAETitle(ep->calling_aet);
        cfg.setConnectionBlockingMode(DUL_NOBLOCK);
        cfg.setConnectionTimeout(1);
        Uint32 t = (Uint32)(ep->timeout_s > 0 ? ep->timeout_s : 30);
        cfg.setACSETimeout(t);
        cfg.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
        cfg.setDIMSETimeout(t);
        cfg.setHostLookupEnabled(OFFalse);
        OFList<OFString> all = syntaxes_plain();
        all.push_back(UID_DeflatedExplicitVRLittleEndianTransferSyntax);
        for (const char *ts : compressed_syntaxes)
            all.push_back(ts);
        for (const char *cls : image_classes)
            addPresentationContext(cls, all);
        for (const char *cls : other_classes)
            addPresentationContext(cls, all);
    }
    Receiver rx;
    std::atomic<bool> stop{false};

protected:
    OFCondition handleIncomingCommand(T_DIMSE_Message *msg, const DcmPresentationContextInfo &info) override
    {
        if (msg->CommandField != DIMSE_C_STORE_RQ)
            return DcmSCP::handleIncomingCommand(msg, info);
        T_DIMSE_C_StoreRQ &req = msg->msg.CStoreRQ;
        DcmDataset *ds = NULL;
        OFCondition c = receiveSTORERequest(req, info.presentationContextID, ds);
        Uint16 status = STATUS_STORE_Error_CannotUnderstand;
        if (c.good() && ds)
            status = rx.take(ds);
        delete ds;
        if (c.bad())
            return c;
        return sendSTOREResponse(info.presentationContextID, req, status);
    }
    OFBool stopAfterConnectionTimeout() override { return stop.load(); }
    OFBool stopAfterCurrentAssociation() override { return stop.load(); }
};

/* The storage SCP lives from the first C-MOVE of a pull to pacs_dimse_shutdown(), so
 * that each series does not wait for an accept loop to start and stop. */
std::mutex scp_mu;
std::unique_ptr<DcmTLSTransportLayer> scp_tls; /* the SCP's TLS layer (ep->tls), destroyed after the SCP */
std::unique_ptr<MoveScp> scp_one;
std::thread scp_loop;
int scp_port;
std::string scp_aet;

void scp_stop()
{
    if (!scp_one)
        return;
    scp_one->stop = true;
    if (scp_loop.joinable())
        scp_loop.join();
    scp_one.reset();
    scp_tls.reset();
}

MoveScp *scp_get(const pacs_endpoint *ep, c2_err *e)
{
    if (scp_one && scp_port == ep->move_port && scp_aet == ep->calling_aet && !scp_tls == !ep->tls)
        return scp_one.get();
    scp_stop();
    std::unique_ptr<MoveScp> s(new MoveScp(ep, ep->move_port));
    if (ep->tls) {
        if (!(scp_tls = tls_layer(ep, NET_ACCEPTOR, e)))
            return nullptr;
        s->getConfig().setTransportLayer(scp_tls.get());
    }
    OFCondition c = s->openListenPort();
    if (c.bad()) {
        c2_fail(e, C2_EIO, "cannot listen on port %d for C-MOVE: %s", ep->move_port, c.text());
        return nullptr;
    }
    MoveScp *raw = s.get();
    scp_loop = std::thread([raw] { raw->acceptAssociations(); });
    scp_one = std::move(s);
    scp_port = ep->move_port;
    scp_aet = ep->calling_aet;
    return raw;
}

} // namespace

static int pacs_dimse_move_impl(const pacs_endpoint *ep, const char *study_uid, const char *series_uid,
                                const char *const *sops, int n_sops, const pacs_sink *sink, int *n_stored, c2_err *e)
{
    *n_stored = 0;
    std::lock_guard<std::mutex> one_move(scp_mu);
    MoveScp *got = scp_get(ep, e);
    if (!got)
        return e ? e->code : C2_EIO;
    MoveScp &scp = *got;
    scp.rx.aim(sink, study_uid, series_uid);
    int rc = C2_OK;
    {
        Scu scu(ep);
        scu.addPresentationContext(UID_MOVEStudyRootQueryRetrieveInformationModel, syntaxes_plain());
        rc = scu.open(e);
        T_ASC_PresentationContextID pid =
            rc == C2_OK ? scu.findPresentationContextID(UID_MOVEStudyRootQueryRetrieveInformationModel, "") : 0;
        if (rc == C2_OK && pid == 0)
            rc = c2_fail(e, C2_EUNSUPPORTED, "%s: the server does not accept Study Root C-MOVE", peer_name(ep).c_str());
        int n_req = sops ? n_sops : 1, failed_subops = 0;
        for (int i = 0; rc == C2_OK && i < n_req; i++) {
            DcmDataset keys;
            retrieve_keys(keys, study_uid, series_uid, sops ? sops[i] : NULL);
            OFList<RetrieveResponse *> responses;
            OFCondition c = scu.sendMOVERequest(pid, ep->calling_aet, &keys, &responses);
            Uint16 final_status = responses_done(responses, &failed_subops);
            if (c.bad())
                rc = c2_fail(e, C2_EIO, "%s: C-MOVE of series %s broke off after %d instances: %s%s",
                             peer_name(ep).c_str(), series_uid, scp.rx.stored, c.text(),
                             scp.rx.stored ? "" : abort_hint(ep, c).c_str());
            else if (final_status == 0xA801)
                rc = c2_fail(e, C2_EUNSUPPORTED,
                             "%s: C-MOVE refused: the server does not know the move destination %s (register it "
                             "with this host and port %d)",
                             peer_name(ep).c_str(), ep->calling_aet, ep->move_port);
            else if (final_status != STATUS_Success &&
                     final_status != STATUS_MOVE_Warning_SubOperationsCompleteOneOrMoreFailures)
                rc = c2_fail(e, C2_EUNSUPPORTED,
                             "%s: C-MOVE of series %s ended with status 0x%04x (does the server send to %s at this "
                             "host, port %d?)",
                             peer_name(ep).c_str(), series_uid, final_status, ep->calling_aet, ep->move_port);
        }
        if (rc == C2_OK && failed_subops)
            rc = c2_fail(e, C2_EUNSUPPORTED, "%s: the server reports %d failed sub-operations for series %s",
                         peer_name(ep).c_str(), failed_subops, series_uid);
    }
    std::lock_guard<std::mutex> g(scp.rx.mu);
    scp.rx.sink = nullptr; /* late arrivals are refused, not written */
    *n_stored = scp.rx.stored;
    if (rc == C2_OK && scp.rx.write_failed)
        rc = c2_fail(e, C2_EIO, "%s", scp.rx.write_error.c_str());
    if (scp.rx.foreign)
        c2_warn("%s: %d instances of another study or series than asked were not kept", peer_name(ep).c_str(),
                scp.rx.foreign);
    return rc;
}

static int pacs_dimse_echo_impl(const pacs_endpoint *ep, c2_err *e)
{
    Scu scu(ep);
    scu.addPresentationContext(UID_VerificationSOPClass, syntaxes_plain());
    int rc = scu.open(e);
    if (rc != C2_OK)
        return rc;
    OFCondition c = scu.sendECHORequest(0);
    if (c.bad())
        return c2_fail(e, C2_EIO, "%s: C-ECHO failed: %s", peer_name(ep).c_str(), c.text());
    return C2_OK;
}

static int pacs_dimse_find_impl(const pacs_endpoint *ep, pacs_level level, const pacs_query *q, pacs_record **out,
                               int *n_out, c2_err *e)
{
    *out = NULL;
    *n_out = 0;
    Scu scu(ep);
    scu.level = level;
    scu.addPresentationContext(UID_FINDStudyRootQueryRetrieveInformationModel, syntaxes_plain());
    int rc = scu.open(e);
    if (rc != C2_OK)
        return rc;
    T_ASC_PresentationContextID pid =
        scu.findPresentationContextID(UID_FINDStudyRootQueryRetrieveInformationModel, "");
    if (pid == 0)
        return c2_fail(e, C2_EUNSUPPORTED, "%s: the server does not accept Study Root C-FIND", peer_name(ep).c_str());
    DcmDataset keys;
    const char *lv = level == PACS_STUDY ? "STUDY" : level == PACS_SERIES ? "SERIES" : "IMAGE";
    keys.putAndInsertString(DCM_QueryRetrieveLevel, lv);
    keys.putAndInsertString(DCM_PatientID, q->patient_id ? q->patient_id : "");
    keys.putAndInsertString(DCM_StudyInstanceUID, q->study_uid ? q->study_uid : "");
    keys.putAndInsertString(DCM_AccessionNumber, q->accession ? q->accession : "");
    keys.putAndInsertString(DCM_StudyDate, q->date ? q->date : "");
    if (level == PACS_STUDY) {
        keys.putAndInsertString(DCM_ModalitiesInStudy, "");
        keys.putAndInsertString(DCM_NumberOfStudyRelatedInstances, "");
    } else {
        keys.putAndInsertString(DCM_SeriesInstanceUID, q->series_uid ? q->series_uid : "");
        keys.putAndInsertString(DCM_Modality, "");
    }
    if (level == PACS_SERIES)
        keys.putAndInsertString(DCM_NumberOfSeriesRelatedInstances, "");
    if (level == PACS_IMAGE) {
        keys.putAndInsertString(DCM_SOPInstanceUID, "");
        keys.putAndInsertString(DCM_SOPClassUID, "");
    }
    OFCondition c = scu.sendFINDRequest(pid, &keys, NULL);
    if (c.bad())
        return c2_fail(e, C2_EIO, "%s: C-FIND failed: %s%s", peer_name(ep).c_str(), c.text(), abort_hint(ep, c).c_str());
    if (scu.overflow)
        return c2_fail(e, C2_ELIMIT, "%s: the C-FIND answer has more than %d results", peer_name(ep).c_str(),
                       PACS_MAX_RESULTS);
    if (scu.dropped)
        c2_warn("%s: %d C-FIND results without a valid UID were ignored", peer_name(ep).c_str(), scu.dropped);
    if (scu.found.empty())
        return C2_OK;
    pacs_record *r = (pacs_record *)std::malloc(scu.found.size() * sizeof *r);
    if (!r)
        return c2_fail(e, C2_ENOMEM, "%s: out of memory for %zu C-FIND results", peer_name(ep).c_str(),
                       scu.found.size());
    std::memcpy(r, scu.found.data(), scu.found.size() * sizeof *r);
    *out = r;
    *n_out = (int)scu.found.size();
    return C2_OK;
}

static int pacs_dimse_get_impl(const pacs_endpoint *ep, const char *study_uid, const char *series_uid,
                              const char *const *sops, int n_sops, const pacs_sink *sink, int *n_stored, c2_err *e)
{
    *n_stored = 0;
    Scu scu(ep);
    scu.rx.aim(sink, study_uid, series_uid);
    scu.addPresentationContext(UID_GETStudyRootQueryRetrieveInformationModel, syntaxes_plain());
    offer_storage(scu);
    int rc = scu.open(e);
    if (rc != C2_OK)
        return rc;
    T_ASC_PresentationContextID pid = scu.findPresentationContextID(UID_GETStudyRootQueryRetrieveInformationModel, "");
    if (pid == 0)
        return c2_fail(e, C2_EUNSUPPORTED, "%s: the server does not accept Study Root C-GET", peer_name(ep).c_str());
    int n_req = sops ? n_sops : 1, failed_subops = 0;
    for (int i = 0; i < n_req; i++) {
        DcmDataset keys;
        retrieve_keys(keys, study_uid, series_uid, sops ? sops[i] : NULL);
        OFList<RetrieveResponse *> responses;
        OFCondition c = scu.sendCGETRequest(pid, &keys, &responses);
        Uint16 final_status = responses_done(responses, &failed_subops);
        *n_stored = scu.rx.stored;
        if (c.bad())
            return c2_fail(e, C2_EIO, "%s: C-GET of series %s broke off after %d instances: %s%s",
                           peer_name(ep).c_str(), series_uid, scu.rx.stored, c.text(),
                           scu.rx.stored ? "" : abort_hint(ep, c).c_str());
        if (scu.rx.write_failed)
            return c2_fail(e, C2_EIO, "%s", scu.rx.write_error.c_str());
        /* a refusal, not a broken link: the caller goes on with other series */
        if (final_status != STATUS_Success && final_status != STATUS_GET_Warning_SubOperationsCompleteOneOrMoreFailures)
            return c2_fail(e, C2_EUNSUPPORTED, "%s: C-GET of series %s ended with status 0x%04x", peer_name(ep).c_str(),
                           series_uid, final_status);
    }
    if (scu.rx.foreign)
        c2_warn("%s: %d instances of another study or series than asked were not kept", peer_name(ep).c_str(),
                scu.rx.foreign);
    if (failed_subops)
        return c2_fail(e, C2_EUNSUPPORTED, "%s: the server reports %d failed sub-operations for series %s",
                       peer_name(ep).c_str(),
                       failed_subops, series_uid);
    return C2_OK;
}

static int pacs_dimse_store_impl(const pacs_endpoint *ep, pacs_item *items, int n, pacs_confirmed_fn cb, void *user,
                                c2_err *e)
{
    Scu scu(ep);
    scu.setDatasetConversionMode(OFTrue);
    /* sequences go out with undefined length, as DCMTK writes them to files (dcmnet's
     * default is explicit length): c2seg's own SEG / SR then arrive byte for byte */
    g_dimse_send_sequenceType_encoding = EET_UndefinedLength;
    /* one context per SOP class with the plain syntaxes, one per (class, other syntax) */
    std::vector<std::string> added;
    for (int i = 0; i < n; i++) {
        if (items[i].done)
            continue;
        std::string cls = items[i].sop_class, ts = items[i].transfer_syntax;
        std::string k1 = cls + "|", k2 = cls + "|" + ts;
        bool have1 = false, have2 = false;
        for (const std::string &a : added) {
            have1 = have1 || a == k1;
            have2 = have2 || a == k2;
        }
        if (added.size() + 2 > 126)
            return c2_fail(e, C2_EUNSUPPORTED, "%s: too many SOP classes / transfer syntaxes for one association",
                           peer_name(ep).c_str());
        /* the file's own syntax alone (sent as it is), then the plain ones (converted) */
        if (!have2) {
            OFList<OFString> one;
            one.push_back(ts.c_str());
            scu.addPresentationContext(cls.c_str(), one);
            added.push_back(k2);
        }
        if (!have1) {
            scu.addPresentationContext(cls.c_str(), syntaxes_plain());
            added.push_back(k1);
        }
    }
    if (added.empty())
        return C2_OK;
    int rc = scu.open(e);
    if (rc != C2_OK)
        return rc;
    for (int i = 0; i < n; i++) {
        pacs_item *it = &items[i];
        if (it->done)
            continue;
        T_ASC_PresentationContextID pid = scu.findPresentationContextID(it->sop_class, it->transfer_syntax);
        if (pid == 0)
            pid = scu.findAnyPresentationContextID(it->sop_class, it->transfer_syntax);
        if (pid == 0) {
            snprintf(it->reason, sizeof it->reason, "the server accepts no presentation context for SOP class %s",
                     it->sop_class);
            continue;
        }
        /* opened as every shim opens files (the deflate check first), then sent from memory */
        DcmFileFormat ff;
        c2_err le = {0, {0}};
        if (dicom_dcmtk_load(ff, it->path, &le) != C2_OK) {
            snprintf(it->reason, sizeof it->reason, "%s", le.msg);
            continue;
        }
        Uint16 status = 0;
        OFCondition c = scu.sendSTORERequest(pid, OFFilename(), ff.getDataset(), status);
        if (c.bad()) {
            snprintf(it->reason, sizeof it->reason, "C-STORE failed: %s", c.text());
            if (!scu.isConnected() || c == DUL_PEERABORTEDASSOCIATION || c == DIMSE_NODATAAVAILABLE ||
                c == DUL_NETWORKCLOSED || c == DUL_PEERREQUESTEDRELEASE || c == DIMSE_READPDVFAILED ||
                c == DIMSE_SENDFAILED || c == DIMSE_RECEIVEFAILED)
                return c2_fail(e, C2_EIO, "%s: the association broke off at %s: %s", peer_name(ep).c_str(), it->path,
                               c.text());
            continue;
        }
        if (status == STATUS_Success || (status & 0xf000) == 0xb000) {
            it->done = 1;
            it->reason[0] = 0;
            if (cb)
                cb(user, it);
        } else {
            snprintf(it->reason, sizeof it->reason, "the server refused it (C-STORE status 0x%04x)", status);
        }
    }
    return C2_OK;
}

/* The C entry points: no C++ exception crosses into C. c_guard runs one operation and
 * turns an exception into one error naming it. */
template <class F> static int c_guard(const pacs_endpoint *ep, const char *what, c2_err *e, F f)
{
    try {
        return f();
    } catch (...) {
        return c2_fail(e, C2_ENOMEM, "%s: %s failed (out of memory%s)", peer_name(ep).c_str(), what,
                       strcmp(what, "C-MOVE") == 0 ? " or no thread" : "");
    }
}

extern "C" int pacs_dimse_echo(const pacs_endpoint *ep, c2_err *e)
{
    return c_guard(ep, "C-ECHO", e, [&] { return pacs_dimse_echo_impl(ep, e); });
}

extern "C" int pacs_dimse_find(const pacs_endpoint *ep, pacs_level level, const pacs_query *q, pacs_record **out,
                               int *n_out, c2_err *e)
{
    return c_guard(ep, "C-FIND", e, [&] { return pacs_dimse_find_impl(ep, level, q, out, n_out, e); });
}

extern "C" int pacs_dimse_get(const pacs_endpoint *ep, const char *study_uid, const char *series_uid,
                              const char *const *sops, int n_sops, const pacs_sink *sink, int *n_stored, c2_err *e)
{
    return c_guard(ep, "C-GET", e,
                   [&] { return pacs_dimse_get_impl(ep, study_uid, series_uid, sops, n_sops, sink, n_stored, e); });
}

extern "C" int pacs_dimse_store(const pacs_endpoint *ep, pacs_item *items, int n, pacs_confirmed_fn cb, void *user,
                                c2_err *e)
{
    return c_guard(ep, "C-STORE", e, [&] { return pacs_dimse_store_impl(ep, items, n, cb, user, e); });
}

extern "C" int pacs_dimse_move(const pacs_endpoint *ep, const char *study_uid, const char *series_uid,
                               const char *const *sops, int n_sops, const pacs_sink *sink, int *n_stored, c2_err *e)
{
    return c_guard(ep, "C-MOVE", e,
                   [&] { return pacs_dimse_move_impl(ep, study_uid, series_uid, sops, n_sops, sink, n_stored, e); });
}

extern "C" void pacs_dimse_shutdown(void)
{
    try {
        std::lock_guard<std::mutex> g(scp_mu);
        scp_stop();
    } catch (...) {
    }
}
